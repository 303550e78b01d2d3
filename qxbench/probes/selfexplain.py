"""Self-generated counterfactuals and explanations, built from lm-eval's own request types.

Each function takes an lm-eval ``LM`` (the ``qx`` model) and a list of normalised classification
documents (:mod:`qxbench.probes.classify`) and runs its passes over all documents at once, so every
pass is batched by the model as usual. Prompts come from a :class:`~qxbench.probes.prompts.PromptSet`.

counterfactuals: classify -> generate a rewrite of the edited part (``text``) towards the runner-up
label -> re-classify the rewrite with the fixed part (``context``) unchanged -> score the rewrite's
perplexity; with a full-precision ``reference``, the reference also labels the input and the rewrite
(``flip_rate_ref``: one judge for every config).

explanations: classify -> explain; insertion test (:mod:`qxbench.probes.insertion`, Atanasova et al.
2023): several insertions per document are re-classified, and only those that changed the prediction
are re-explained (the test reads no other explanation of a changed input).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lm_eval.api.instance import Instance

from qxbench import progress
from qxbench.probes import greedy, refcache
from qxbench.probes.chat import cut_answer
from qxbench.probes.insertion import POSITIONS, WORDS, insertions
from qxbench.probes.prompts import PromptSet

REWRITE_TOKENS = 96
EXPLAIN_TOKENS = 64


def _instances(kind: str, args: Sequence[tuple]) -> list[Instance]:
    return [Instance(request_type=kind, doc={}, arguments=a, idx=0) for a in args]


def options_of(args: Sequence[Any]) -> tuple[PromptSet, tuple[int, int]]:
    """A cf_flip/nle_sim request's options (``args[2]``, built by :mod:`qxbench.probes.explaintask`): the
    prompt set, its demonstrations, and the insertion test's words x positions."""
    options = args[2] if len(args) > 2 else {}
    return (PromptSet(options.get("prompts", "completion-0"), tuple(options.get("demos", ()))),
            (int(options.get("insert_words", WORDS)), int(options.get("insert_positions",
                                                                                  POSITIONS))))


def _size(lm: Any) -> int:
    size = str(getattr(lm, "batch_size", 8))
    return int(size) if size.isdigit() and int(size) > 0 else 8


class _Capped:
    """A stop rule that also stops row ``r`` after ``caps[r]`` tokens."""

    def __init__(self, stop: Any, caps: Sequence[int]) -> None:
        self.stop, self.caps, self.count = stop, list(caps), [0] * len(caps)

    def __call__(self, row: int, token: int) -> bool:
        self.count[row] += 1
        return bool(self.stop(row, token)) or self.count[row] >= self.caps[row]


def generate(lm: Any, prompts: Sequence[str], max_tokens: int, title: str = "generate",
             unit: str = "doc", caps: Sequence[int] | None = None) -> list[str]:
    """Greedy answers, each cut at the first line break after non-blank text (:func:`chat.cut_answer`),
    batched by the model's batch size; the prompts are formatted as ``lm.format_prompt`` says
    (the chat template under ``--apply_chat_template``). ``caps``: a smaller token cap per prompt.
    Batches hold prompts of similar length (less padding; answers come back in order), and a batch's
    common beginning (the chat header, the instruction) runs once (``greedy``'s ``prefix``).
    One progress bar, ``title``, counts prompts in ``unit``s."""
    fmt = getattr(lm, "format_prompt", None) or (lambda p: p)
    size = _size(lm)
    eos = getattr(lm.tokenizer, "eos_token_id", None)
    texts = [fmt(p) for p in prompts]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out: list[str] = [""] * len(texts)
    with progress.phase(title, len(prompts), unit) as bar:
        for start in range(0, len(order), size):
            batch = order[start:start + size]
            ids, mask = lm.tok_batch_encode([texts[i] for i in batch], left_truncate_len=lm.max_length - max_tokens)
            prefix, ids, mask = greedy.split_prefix(ids, mask)
            ids, mask = ids.to(lm.device), mask.to(lm.device)
            stop: Any = greedy.LineEnd(lm.tokenizer, len(batch), eos)
            if caps is not None:
                stop = _Capped(stop, [min(max_tokens, caps[i]) for i in batch])
            rows = greedy.greedy(lm.model, ids, mask, max_tokens, stop, prefix)
            for i, text in zip(batch, greedy.decode(lm.tokenizer, rows), strict=True):
                out[i] = cut_answer(text)
            bar.advance(len(batch))
    return out


def classify(lm: Any, docs: Sequence[Mapping[str, Any]], texts: Sequence[str] | None = None,
             title: str = "classify", unit: str = "doc", prompts: PromptSet | None = None,
             groups: Sequence[Any] | None = None) -> list[list[float]]:
    """Per document, the score of each choice: the log-likelihood of `` choice`` after the prompt, per
    character of the choice where the document says ``normalise``. Under a chat template
    (``lm.chat_applied``) the prompt set's answer cue follows the assistant header
    (:meth:`PromptSet.classify_parts`) (lm-eval's ``acc_norm``:
    ``lm_eval/api/task.py``, ``process_results`` for ``multiple_choice``). ``texts`` replace the edited
    part; the fixed part (``context``) is the document's. ``groups``: texts with the same key (one
    document's variants) share their prompt's common beginning (:mod:`qxbench.probes.choices`)."""
    contexts = _contexts(lm, docs, [d["text"] for d in docs] if texts is None else texts,
                         prompts or PromptSet("completion-0"))
    choices = [[f" {c}" for c in d["choices"]] for d in docs]
    with progress.phase(title, len(docs), unit, requests=sum(map(len, choices))):
        if hasattr(lm, "choice_loglikelihoods"):  # the qx model: each prompt run once for all its choices
            grouped = lm.choice_loglikelihoods(contexts, choices, groups)
        else:  # any lm-eval LM: one request per (prompt, choice)
            args = [(c, x) for c, xs in zip(contexts, choices, strict=True) for x in xs]
            flat = iter([ll for ll, _ in lm.loglikelihood(_instances("loglikelihood", args), disable_tqdm=True)])
            grouped = [[next(flat) for _ in xs] for xs in choices]
    return [[ll / len(c) for ll, c in zip(lls, d["choices"], strict=True)] if d.get("normalise") else list(lls)
            for lls, d in zip(grouped, docs, strict=True)]


def _contexts(lm: Any, docs: Sequence[Mapping[str, Any]], texts: Sequence[str], prompts: PromptSet) -> list[str]:
    """The text each classification prompt is, as the model reads it (before `` choice``)."""
    fmt = getattr(lm, "format_prompt", None) or (lambda p: p)
    chat = bool(getattr(lm, "chat_applied", False))
    contexts = []
    for d, t in zip(docs, texts, strict=True):
        user, cue = prompts.classify_parts(d, t)
        contexts.append(fmt(user) if cue is None else fmt(user) + cue if chat else fmt(f"{user}\n{cue}"))
    return contexts


def input_keys(lm: Any, docs: Sequence[Mapping[str, Any]], prompts: PromptSet) -> list[str] | None:
    """Where a full-precision model's scores of the inputs are kept (:mod:`qxbench.probes.refcache`,
    ``labels``): the checkpoint, its dtype, each prompt as the model reads it and its choices. None for
    a model without a checkpoint identity (any other lm-eval LM: nothing kept)."""
    identity = getattr(lm, "cache_identity", None)
    model = getattr(lm, "model", None)
    if identity is None or model is None:
        return None
    found = identity()
    base = {"qxbench": found["qxbench"], "model": found["model"], "fingerprint": found["fingerprint"],
            "dtype": str(next(model.parameters()).dtype)}
    return [refcache.key(base, [c, d["choices"], bool(d.get("normalise"))])
            for c, d in zip(_contexts(lm, docs, [d["text"] for d in docs], prompts), docs, strict=True)]


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
    pred: int
    target: int
    rewrite: str  # the edited part rewritten; the fixed part is the document's
    rewrite_pred: int | None  # None for an empty rewrite (nothing to classify)
    ppl: float
    ref_ppl: float | None  # None when no reference model is given
    ref_pred: int | None = None  # the reference's label of the input; None without a reference
    ref_rewrite_pred: int | None = None  # the reference's label of the rewrite; None also for an empty rewrite
    prompts: str = "completion-0"  # the prompt set (qxbench.probes.prompts)


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


def counterfactuals(lm: Any, docs: Sequence[Mapping[str, Any]], reference: Any | None = None,
                    prompts: PromptSet | None = None) -> list[Counterfactual]:
    prompts = prompts or PromptSet("completion-0")
    scores = classify(lm, docs, prompts=prompts)
    if reference is lm and (keys := input_keys(lm, docs, prompts)):  # full precision: kept for its references
        refcache.write("labels", keys, scores)
    preds = [argmax(s) for s in scores]
    targets = [runner_up(s) for s in scores]
    asks = [prompts.rewrite(d, p, t) for d, p, t in zip(docs, preds, targets, strict=True)]
    caps = [rewrite_cap(lm, d["text"]) for d in docs] if prompts.name != "completion-0" else None
    answers = generate(lm, asks, REWRITE_TOKENS, title="rewrite", caps=caps)
    rewrites = [prompts.rewritten(d, r) for d, r in zip(docs, answers, strict=True)]
    nonempty = [i for i, r in enumerate(rewrites) if r]
    re_scores = classify(lm, [docs[i] for i in nonempty], [rewrites[i] for i in nonempty],
                         title="classify rewrites", prompts=prompts)
    rewrite_preds: list[int | None] = [None] * len(docs)
    for i, s in zip(nonempty, re_scores, strict=True):
        rewrite_preds[i] = argmax(s)
    ppl = perplexities(lm, rewrites)
    ref_ppl: list[float | None] = [None] * len(docs)
    ref_preds: list[int | None] = [None] * len(docs)
    ref_rewrite: list[int | None] = [None] * len(docs)
    if reference is lm:  # full precision is its own reference and judge: the same numbers
        ref_ppl, ref_preds, ref_rewrite = list(ppl), list(preds), list(rewrite_preds)
    elif reference is not None:
        ref_ppl = list(perplexities(reference, rewrites, title="reference perplexity"))
        found, judged = _labels(reference, docs, rewrites, prompts, "reference ")
        ref_preds, ref_rewrite = list(found), judged
    return [Counterfactual(*row, prompts.name) for row in
            zip(preds, targets, rewrites, rewrite_preds, ppl, ref_ppl, ref_preds, ref_rewrite, strict=True)]


@dataclass(frozen=True)
class Inserted:
    word: str
    at: int
    pred: int
    explanation: str | None  # the explanation of the changed input; None where the prediction did not change


@dataclass(frozen=True, repr=False)
class Explanation:
    """``inserted``/``inserted_pred``/``inserted_explanation``: the first insertion that changed the
    prediction (else the first insertion), the fields earlier logs had; ``insertions``: all of them.
    The logged repr (defaults left out) writes each insertion as a plain ``(word, at, pred, explanation)`` tuple, so that
    a log is read back with literals only (:func:`qxbench.study.samples.parse_response`)."""

    pred: int
    explanation: str
    inserted: str
    inserted_pred: int
    inserted_explanation: str
    insertions: tuple[Inserted, ...] = ()
    prompts: str = "completion-0"

    def __repr__(self) -> str:
        rows = tuple((i.word, i.at, i.pred, i.explanation) for i in self.insertions)
        extra = (f", insertions={rows!r}" if rows else "") + (
            f", prompts={self.prompts!r}" if self.prompts != "completion-0" else "")  # defaults left out
        return (f"Explanation(pred={self.pred!r}, explanation={self.explanation!r}, inserted={self.inserted!r}, "
                f"inserted_pred={self.inserted_pred!r}, inserted_explanation={self.inserted_explanation!r}{extra})")


def _explanation(pred: int, text: str, rows: Sequence[Inserted], prompts: str) -> Explanation:
    shown = next((i for i in rows if i.pred != pred), rows[0] if rows else Inserted("", 0, pred, None))
    return Explanation(pred, text, shown.word, shown.pred, shown.explanation or "", tuple(rows), prompts)


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
    new = [argmax(s) for s in both[n:]]
    changed = [k for k, (i, _) in enumerate(flat) if new[k] != preds[i]]
    asks = [prompts.explain(d, preds[i]) for i, d in enumerate(docs)]
    asks += [prompts.explain(docs[flat[k][0]], new[k], flat[k][1].text) for k in changed]
    texts = [t.strip() for t in generate(lm, asks, EXPLAIN_TOKENS, title="explain", unit="text")]
    again: dict[int, str] = dict(zip(changed, texts[n:], strict=True))
    rows: list[list[Inserted]] = [[] for _ in docs]
    for k, (i, p) in enumerate(flat):
        rows[i].append(Inserted(p.word, p.at, new[k], again.get(k)))
    return [_explanation(preds[i], texts[i], rows[i], prompts.name) for i in range(n)]
