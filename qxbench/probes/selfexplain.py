"""Self-generated counterfactuals and explanations, built from lm-eval's own request types.

Each function takes an lm-eval ``LM`` (the ``qx`` model) and a list of normalised classification
documents (:mod:`qxbench.data.classify`) and runs its passes over all documents at once, so every
pass is batched by the model as usual. Prompts come from a :class:`~qxbench.probes.prompts.PromptSet`.

counterfactuals: classify -> generate a rewrite of the edited part (``text``) towards the runner-up
label -> read the answer (:func:`qxbench.probes.answers.read_rewrite`: its text and kind) -> re-classify
the valid rewrites with the fixed part (``context``) unchanged -> on the valid rewrites that flipped
the label, the perplexity of the rewrite and of the input; with a full-precision ``reference``, the
reference also labels the input and the valid rewrites (``flip_rate_ref``, ``agree_fp``: one judge for
every config) and scores the perplexities of ``ppl_ref`` and ``ppl_ratio``.

explanations: classify -> explain -> read the explanation (:func:`qxbench.probes.answers.read_explanation`,
told whether generation stopped at its token cap); insertion test (:mod:`qxbench.probes.insertion`, Atanasova et al.
2023): several insertions per document are re-classified, and only those that changed the prediction
are re-explained (the test reads no other explanation of a changed input).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from lm_eval.api.instance import Instance

from qxbench import progress
from qxbench.errors import unknown
from qxbench.probes import answers as reader
from qxbench.probes import greedy, refcache
from qxbench.probes.chat import Chat, cut_answer
from qxbench.probes.codec import ADDED
from qxbench.probes.insertion import POSITIONS, WORDS, insertions
from qxbench.probes.logged import log_text
from qxbench.probes.options import ExplainOptions
from qxbench.probes.prompts import PromptSet

REWRITE_TOKENS = 96
EXPLAIN_TOKENS = 64


def _instances(kind: str, args: Sequence[tuple]) -> list[Instance]:
    return [Instance(request_type=kind, doc={}, arguments=a, idx=0) for a in args]


def options_of(args: Sequence[Any], settings: Chat = Chat()) -> tuple[PromptSet, tuple[int, int]]:
    """A cf_flip/nle_sim request's options (:class:`~qxbench.probes.options.ExplainOptions`, ``args[2]``): the
    prompt set with its demonstrations and the requests' chat ``settings``, and the insertion test's words x
    positions."""
    options = ExplainOptions.of(args)
    return replace(options.prompt_set(), chat=settings), (options.insertion_words, options.insertion_positions)


def rows_per_batch(lm: Any) -> int:
    """``lm.batch_size`` as a number of rows: 8 where it is missing, not a positive integer, or "auto"
    (the qx model's batching and the noise floor's second composition both read it here)."""
    size = str(getattr(lm, "batch_size", 8))
    return int(size) if size.isdigit() and int(size) > 0 else 8


class _Capped:
    """A stop rule that also stops row ``r`` after ``caps[r]`` tokens."""

    def __init__(self, stop: Any, caps: Sequence[int]) -> None:
        self.stop, self.caps, self.count = stop, list(caps), [0] * len(caps)

    def __call__(self, row: int, token: int) -> bool:
        self.count[row] += 1
        return bool(self.stop(row, token)) or self.count[row] >= self.caps[row]


@dataclass(frozen=True)
class Generated:
    """One greedy answer: ``text`` cut at the first line break after non-blank text; ``capped``: generation
    stopped at its token cap, before a line end or the end-of-turn token."""

    text: str
    capped: bool


class _Ended:
    """A stop rule that records the rows it stopped (a row it never stopped ran into its token cap)."""

    def __init__(self, stop: Any, rows: int) -> None:
        self.stop, self.ended = stop, [False] * rows

    def __call__(self, row: int, token: int) -> bool:
        done = bool(self.stop(row, token))
        self.ended[row] = self.ended[row] or done
        return done


def generate_answers(lm: Any, prompts: Sequence[str], max_tokens: int, title: str = "generate",
                     unit: str = "doc", caps: Sequence[int] | None = None, chat: Chat = Chat()) -> list[Generated]:
    """Greedy answers, each cut at the first line break after non-blank text (:func:`chat.cut_answer`),
    at most the model's batch size decoding at once (:func:`greedy.stream`: a stopped row's place goes
    to the next prompt); the prompts are formatted as ``chat`` says (the chat template under
    ``--apply_chat_template``) and taken shortest first (less padding; answers come back in order);
    their common beginning (the chat header, the instruction) runs once. ``caps``: a smaller token cap
    per prompt. One progress bar, ``title``, counts prompts in ``unit``s. Each answer says whether its
    row ran into its cap (``max_tokens`` or its ``caps`` entry) without a line end or an end of turn."""
    fmt = chat.formatter(lm)
    size = rows_per_batch(lm)
    eos = getattr(lm.tokenizer, "eos_token_id", None)
    texts = [fmt(p) for p in prompts]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    tokens = _encoded(lm, [texts[i] for i in order], max_tokens, size)
    ended = _Ended(greedy.LineEnd(lm.tokenizer, len(order), eos), len(order))
    stop: Any = ended if caps is None else _Capped(ended, [min(max_tokens, caps[i]) for i in order])
    pad = getattr(lm.tokenizer, "pad_token_id", None) or 0  # masked either way
    with progress.phase(title, len(prompts), unit) as bar:
        rows = greedy.stream(lm.model, tokens, max_tokens, stop, size, pad, done=lambda _: bar.advance(1))
    out: list[Generated] = [Generated("", False)] * len(texts)
    for j, (i, text) in enumerate(zip(order, greedy.decode(lm.tokenizer, rows), strict=True)):
        out[i] = Generated(cut_answer(text), not ended.ended[j])
    return out


def _encoded(lm: Any, texts: Sequence[str], max_tokens: int, size: int) -> list[list[int]]:
    """Each text's tokens as the model's batch encoding gives them (``tok_batch_encode``, left-truncated to
    leave ``max_tokens`` of the context), without the padding."""
    out: list[list[int]] = []
    for start in range(0, len(texts), size):
        ids, mask = lm.tok_batch_encode(list(texts[start:start + size]), left_truncate_len=lm.max_length - max_tokens)
        out += [row[m.bool()].tolist() for row, m in zip(ids, mask, strict=True)]
    return out


def generate(lm: Any, prompts: Sequence[str], max_tokens: int, title: str = "generate",
             unit: str = "doc", caps: Sequence[int] | None = None, chat: Chat = Chat()) -> list[str]:
    """The texts of :func:`generate_answers`."""
    return [g.text for g in generate_answers(lm, prompts, max_tokens, title, unit, caps, chat)]


def formatted(lm: Any, prompts: PromptSet, prompt: str) -> str:
    """``prompt`` as ``lm`` reads it under the run's chat settings (the chat template under
    ``--apply_chat_template``): what the logged results record as sent."""
    return prompts.formatter(lm)(prompt)


def per_character(lm: Any, context: str, choices: Sequence[str]) -> bool:
    """Whether a document's choices are compared per character of the choice (lm-eval's ``acc_norm``):
    when one of them is more than one token after ``context`` (lm-eval's own tokens,
    ``_encode_pair``; ``tok_encode`` of `` choice`` for an LM without it). Where every choice is one
    token, dividing by its characters is a pure length prior, so the plain log-likelihood is used."""
    encode = getattr(lm, "_encode_pair", None)
    counts = [len(encode(context, f" {c}")[1]) if encode else len(lm.tok_encode(f" {c}")) for c in choices]
    return any(n > 1 for n in counts)


def classify(lm: Any, docs: Sequence[Mapping[str, Any]], texts: Sequence[str] | None = None,
             title: str = "classify", unit: str = "doc", prompts: PromptSet | None = None,
             groups: Sequence[Any] | None = None, batch_size: int | None = None) -> list[list[float]]:
    """Per document, the score of each choice: the log-likelihood of `` choice`` after the prompt, per
    character of the choice where the document says ``normalise`` and a choice spans several tokens
    (:func:`per_character`; lm-eval's ``acc_norm``: ``lm_eval/api/task.py``, ``process_results`` for
    ``multiple_choice``). Under a chat template (``prompts.chat``) the prompt set's answer cue follows
    the assistant header (:meth:`PromptSet.classify_parts`). ``texts`` replace the edited
    part; the fixed part (``context``) is the document's. ``groups``: texts with the same key (one
    document's variants) share their prompt's common beginning (:mod:`qxbench.probes.choices`).
    ``batch_size``: the qx model's contexts per batch (its own by default; another LM batches as it does)."""
    contexts = _contexts(lm, docs, [d["text"] for d in docs] if texts is None else texts,
                         prompts or PromptSet("completion-0"))
    choices = [[f" {c}" for c in d["choices"]] for d in docs]
    with progress.phase(title, len(docs), unit, requests=sum(map(len, choices))):
        if hasattr(lm, "choice_loglikelihoods"):  # the qx model: each prompt run once for all its choices
            grouped = lm.choice_loglikelihoods(contexts, choices, groups, **({"batch_size": batch_size}
                                                                             if batch_size else {}))
        else:  # any lm-eval LM: one request per (prompt, choice)
            args = [(c, x) for c, xs in zip(contexts, choices, strict=True) for x in xs]
            flat = iter([ll for ll, _ in lm.loglikelihood(_instances("loglikelihood", args), disable_tqdm=True)])
            grouped = [[next(flat) for _ in xs] for xs in choices]
    return [[ll / len(c) for ll, c in zip(lls, d["choices"], strict=True)]
            if _scored_per_character(lm, ctx, d) else list(lls)
            for lls, ctx, d in zip(grouped, contexts, docs, strict=True)]


def _scored_per_character(lm: Any, context: str, doc: Mapping[str, Any]) -> bool:
    return bool(doc.get("normalise")) and per_character(lm, context, doc["choices"])


def _contexts(lm: Any, docs: Sequence[Mapping[str, Any]], texts: Sequence[str], prompts: PromptSet) -> list[str]:
    """The text each classification prompt is, as the model reads it (before `` choice``)."""
    fmt, chat = prompts.formatter(lm), prompts.chat.apply
    contexts = []
    for d, t in zip(docs, texts, strict=True):
        user, cue = prompts.classify_parts(d, t)
        contexts.append(fmt(user) if cue is None else fmt(user) + cue if chat else fmt(f"{user}\n{cue}"))
    return contexts


def input_keys(lm: Any, docs: Sequence[Mapping[str, Any]], prompts: PromptSet) -> list[str] | None:
    """Where a full-precision model's scores of the inputs are kept (:mod:`qxbench.probes.refcache`,
    ``labels``): the checkpoint, its dtype, each prompt as the model reads it, its choices and whether
    they are scored per character (:func:`per_character`). None for
    a model without a checkpoint identity (any other lm-eval LM: nothing kept)."""
    identity = getattr(lm, "cache_identity", None)
    model = getattr(lm, "model", None)
    if identity is None or model is None:
        return None
    found = identity()
    base = {"qxbench": found["qxbench"], "model": found["model"], "fingerprint": found["fingerprint"],
            "dtype": str(next(model.parameters()).dtype)}
    return [refcache.key(base, [c, d["choices"], _scored_per_character(lm, c, d)])
            for c, d in zip(_contexts(lm, docs, [d["text"] for d in docs], prompts), docs, strict=True)]


def labels_again(lm: Any, docs: Sequence[Mapping[str, Any]], prompts: PromptSet) -> list[int | None]:
    """The noise floor (issue 38): the model's labels of the same classification prompts in a second batch
    composition, each prompt alone in its group and half as many again per batch (the batch size
    ``b + max(1, b // 2)``), so every batch holds other neighbours and other padding (halving it cost
    the 1.5B three times the first classification: more batches, each running its common prefix);
    where all ``n`` documents fit one batch of ``b``, two batches of ``n // 2`` (the same batch again
    would compute the same thing). A label that changes is noise of the
    computation (bitsandbytes int8 picks its outlier columns per forward pass), not of the model. None for
    an LM that batches on its own (any lm-eval LM but ``qx``): not measured."""
    if not hasattr(lm, "choice_loglikelihoods") or len(docs) < 2:  # one document has no other composition
        return [None] * len(docs)
    size = rows_per_batch(lm)
    second = size + max(1, size // 2) if len(docs) > size else max(1, len(docs) // 2)  # one batch: split it
    scores = classify(lm, docs, title="classify again (noise floor)", prompts=prompts, batch_size=second)
    return [argmax(s) for s in scores]


def argmax(values: Sequence[float]) -> int:
    return max(range(len(values)), key=values.__getitem__)


def runner_up(values: Sequence[float]) -> int:
    """The most likely label other than the prediction: the counterfactual's target."""
    best = argmax(values)
    return max((i for i in range(len(values)) if i != best), key=values.__getitem__)


def perplexities(lm: Any, texts: Sequence[str], title: str = "perplexity") -> list[float]:
    """Token-level perplexity of each text (rolling loglikelihood); NaN for an empty text. The bar
    counts one request per text (a text longer than the model's context sends more: it waits at the end)."""
    todo = [i for i, t in enumerate(texts) if t.strip()]
    with progress.phase(title, len(texts), requests=len(todo)):
        lls = lm.loglikelihood_rolling(_instances("loglikelihood_rolling", [(texts[i],) for i in todo]),
                                       disable_tqdm=True)
    out = [math.nan] * len(texts)
    for i, ll in zip(todo, lls, strict=True):
        out[i] = math.exp(-ll / max(1, len(lm.tok_encode(texts[i]))))
    return out


@dataclass(frozen=True)
class Counterfactual:
    """One document's counterfactual. Only a ``valid`` rewrite (:func:`qxbench.probes.answers.read_rewrite`)
    is classified; the perplexities are measured only where a valid rewrite flipped the model's own
    label (a *valid flip*), NaN elsewhere."""

    pred: int
    target: int
    answer: str  # the generated answer as it came (cut at its first line end)
    kind: str  # what the answer is: one of answers.REWRITE_KINDS
    rewrite: str  # the rewrite read from the answer (edited part only; the fixed part is the document's)
    rewrite_pred: int | None  # the model's label of a valid rewrite; None for every other kind (not classified)
    ppl: float  # the rewrite's perplexity under the model; NaN unless a valid flip
    ref_ppl: float | None  # the same under the reference; None when no reference model is given
    input_ppl: float  # the edited part's perplexity under the judge (reference, else model); NaN unless a valid flip
    ref_pred: int | None = None  # the reference's label of the input; None without a reference
    ref_rewrite_pred: int | None = None  # the reference's label of a valid rewrite; None otherwise
    prompts: str = "completion-0"  # the prompt set (qxbench.probes.prompts)
    rewrite_prompt: str = ""  # the rewrite prompt as the model read it (chat template included)
    pred_again: int | None = field(default=None, metadata={ADDED: "4.1"})  # labels_again; None: not measured

    def __post_init__(self) -> None:
        if self.kind not in reader.REWRITE_KINDS:
            raise unknown("rewrite kind", self.kind, reader.REWRITE_KINDS)

    def __str__(self) -> str:
        return log_text(self)  # what lm-eval logs (schema 1)


def rewrite_cap(lm: Any, text: str) -> int:
    """instruct-1's cap on a rewrite: twice the edited part's tokens plus 16 (at most ``REWRITE_TOKENS``).
    A minimal edit is about as long as its input; the cap binds only on answers that run on (a
    rewrite twice as long as its input is scored near minimality 1 either way)."""
    return min(REWRITE_TOKENS, 2 * len(lm.tok_encode(text)) + 16)


def _labels(lm: Any, docs: Sequence[Mapping[str, Any]], rewrites: Sequence[str], prompts: PromptSet,
            who: str) -> tuple[list[int], list[int | None]]:
    """The full-precision ``lm``'s labels of the inputs and of the non-empty rewrites (context kept), in
    one pass in which a document's input and rewrite share their prompt's beginning (the fixed part
    included). An input's scores kept by the full-precision config (or an earlier reference) are read
    back instead (:func:`input_keys`): only its rewrite is classified."""
    keys = input_keys(lm, docs, prompts)
    kept = [k if isinstance(k, list) and len(k) == len(d["choices"]) else None  # else classified again
            for k, d in zip(refcache.read("labels", keys) if keys else [None] * len(docs), docs, strict=True)]
    todo = [i for i, k in enumerate(kept) if k is None]
    nonempty = [i for i, r in enumerate(rewrites) if r]
    scores = classify(lm, [*(docs[i] for i in todo), *(docs[i] for i in nonempty)],
                      [*(docs[i]["text"] for i in todo), *(rewrites[i] for i in nonempty)],
                      title=f"{who}classify inputs and rewrites", unit="text", prompts=prompts,
                      groups=[*todo, *nonempty])
    for i, s in zip(todo, scores[:len(todo)], strict=True):
        kept[i] = s
    if keys and todo:
        refcache.write("labels", [keys[i] for i in todo], [kept[i] for i in todo])
    preds = [argmax(s) for s in kept]
    out: list[int | None] = [None] * len(docs)
    for i, s in zip(nonempty, scores[len(todo):], strict=True):
        out[i] = argmax(s)
    return preds, out


def _spread(n: int, at: Sequence[int], values: Sequence[float]) -> list[float]:
    """``values`` placed at the indices ``at`` of a list of ``n``; NaN elsewhere."""
    out = [math.nan] * n
    for i, v in zip(at, values, strict=True):
        out[i] = v
    return out


def counterfactuals(lm: Any, docs: Sequence[Mapping[str, Any]], reference: Any | None = None,
                    prompts: PromptSet | None = None) -> list[Counterfactual]:
    prompts = prompts or PromptSet("completion-0")
    n = len(docs)
    scores = classify(lm, docs, prompts=prompts)
    if reference is lm and (keys := input_keys(lm, docs, prompts)):  # full precision: kept for its references
        refcache.write("labels", keys, scores)
    preds = [argmax(s) for s in scores]
    again = labels_again(lm, docs, prompts)
    targets = [runner_up(s) for s in scores]
    asks = [prompts.rewrite(d, p, t) for d, p, t in zip(docs, preds, targets, strict=True)]
    caps = [rewrite_cap(lm, d["text"]) for d in docs] if prompts.name != "completion-0" else None
    answers = generate(lm, asks, REWRITE_TOKENS, title="rewrite", caps=caps, chat=prompts.chat)
    read = [reader.read_rewrite(a, d) for a, d in zip(answers, docs, strict=True)]
    valid = [i for i, r in enumerate(read) if r.kind == "valid"]
    re_scores = classify(lm, [docs[i] for i in valid], [read[i].text for i in valid],
                         title="classify rewrites", prompts=prompts)
    rewrite_preds: list[int | None] = [None] * n
    for i, s in zip(valid, re_scores, strict=True):
        rewrite_preds[i] = argmax(s)
    flips = [i for i in valid if rewrite_preds[i] != preds[i]]
    texts, inputs = [read[i].text for i in flips], [docs[i]["text"] for i in flips]
    judge = lm if reference is None or reference is lm else reference
    own = perplexities(lm, texts + inputs if judge is lm else texts)
    ppl = _spread(n, flips, own[:len(flips)])
    judged = own if judge is lm else perplexities(reference, texts + inputs, title="reference perplexity")
    input_ppl = _spread(n, flips, judged[len(flips):])
    ref_ppl: list[float | None] = [None] * n
    ref_preds: list[int | None] = [None] * n
    ref_rewrite: list[int | None] = [None] * n
    if reference is lm:  # full precision is its own reference and judge: the same numbers
        ref_ppl, ref_preds, ref_rewrite = list(ppl), list(preds), list(rewrite_preds)
    elif reference is not None:
        ref_ppl = list(_spread(n, flips, judged[:len(flips)]))
        chosen = set(valid)
        only_valid = [read[i].text if i in chosen else "" for i in range(n)]  # the others are not classified
        ref_preds, ref_rewrite = _labels(reference, docs, only_valid, prompts, "reference ")
    return [Counterfactual(pred=preds[i], target=targets[i], answer=answers[i], kind=read[i].kind,
                           rewrite=read[i].text, rewrite_pred=rewrite_preds[i], ppl=ppl[i], ref_ppl=ref_ppl[i],
                           input_ppl=input_ppl[i], ref_pred=ref_preds[i], ref_rewrite_pred=ref_rewrite[i],
                           prompts=prompts.name, rewrite_prompt=formatted(lm, prompts, asks[i]), pred_again=again[i])
            for i in range(n)]


@dataclass(frozen=True)
class Inserted:
    word: str
    at: int
    pred: int
    explanation: str | None  # the explanation of the changed input; None where the prediction did not change
    # the re-explanation prompt as the model read it (chat template included); "" where none was sent. Logged
    # since protocol 4.1's second release (no number changed): a 4.1 log written before lacks it
    prompt: str = field(default="", metadata={ADDED: "4.1"})


@dataclass(frozen=True)
class Explanation:
    """``explanation``: the generated answer (stripped), ``kind`` what it is
    (:func:`qxbench.probes.answers.read_explanation`), ``capped``: its generation stopped at the token cap
    before a line end or an end of turn; ``explain_prompt``: the explanation prompt as the model read it.
    ``inserted``/``inserted_pred``/``inserted_explanation``: the first insertion that changed the
    prediction (else the first insertion), the fields earlier logs had; ``insertions``: all of them.
    ``str()`` is what lm-eval logs (schema 1, read back by :func:`qxbench.probes.logged.read_result`)."""

    pred: int
    explanation: str
    kind: str
    capped: bool
    inserted: str
    inserted_pred: int
    inserted_explanation: str
    insertions: tuple[Inserted, ...] = ()
    prompts: str = "completion-0"
    explain_prompt: str = ""
    pred_again: int | None = field(default=None, metadata={ADDED: "4.1"})  # labels_again; None: not measured

    def __post_init__(self) -> None:
        if self.kind not in reader.EXPLANATION_KINDS:
            raise unknown("explanation kind", self.kind, reader.EXPLANATION_KINDS)

    def __str__(self) -> str:
        return log_text(self)  # what lm-eval logs (schema 1)


def explanations(lm: Any, docs: Sequence[Mapping[str, Any]], prompts: PromptSet | None = None,
                 words: int = WORDS, positions: int = POSITIONS) -> list[Explanation]:
    prompts = prompts or PromptSet("completion-0")
    perturbed = [insertions(d["text"], d["insert_words"], words, positions) for d in docs]
    flat = [(i, p) for i, ps in enumerate(perturbed) for p in ps]
    both = classify(lm, [*docs, *(docs[i] for i, _ in flat)], [*(d["text"] for d in docs), *(p.text for _, p in flat)],
                    title="classify (as given, words inserted)", unit="text", prompts=prompts,
                    groups=[*range(len(docs)), *(i for i, _ in flat)])
    n = len(docs)
    preds = [argmax(s) for s in both[:n]]
    again = labels_again(lm, docs, prompts)
    new = [argmax(s) for s in both[n:]]
    changed = [k for k, (i, _) in enumerate(flat) if new[k] != preds[i]]
    asks = [prompts.explain(d, preds[i]) for i, d in enumerate(docs)]
    asks += [prompts.explain(docs[flat[k][0]], new[k], flat[k][1].text) for k in changed]
    said = generate_answers(lm, asks, EXPLAIN_TOKENS, title="explain", unit="text", chat=prompts.chat)
    said_again: dict[int, str] = {k: g.text.strip() for k, g in zip(changed, said[n:], strict=True)}
    sent_again = {k: formatted(lm, prompts, a) for k, a in zip(changed, asks[n:], strict=True)}
    rows: list[list[Inserted]] = [[] for _ in docs]
    for k, (i, p) in enumerate(flat):
        rows[i].append(Inserted(p.word, p.at, new[k], said_again.get(k), sent_again.get(k, "")))
    out = []
    for i, doc in enumerate(docs):
        read = reader.read_explanation(said[i].text, doc, preds[i], capped=said[i].capped)
        first = rows[i][0] if rows[i] else Inserted("", 0, preds[i], None)
        shown = next((r for r in rows[i] if r.pred != preds[i]), first)
        out.append(Explanation(pred=preds[i], explanation=read.text, kind=read.kind, capped=said[i].capped,
                               inserted=shown.word, inserted_pred=shown.pred,
                               inserted_explanation=shown.explanation or "", insertions=tuple(rows[i]),
                               prompts=prompts.name, explain_prompt=formatted(lm, prompts, asks[i]), pred_again=again[i]))
    return out
