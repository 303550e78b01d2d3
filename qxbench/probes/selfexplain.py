"""Self-generated counterfactuals and explanations, built from lm-eval's own request types.

Each function takes an lm-eval ``LM`` (the ``qx`` model) and a list of normalised classification
documents (:mod:`qxbench.data.classify`) and runs its passes over all documents at once, so every
pass is batched by the model as usual. Prompts come from a :class:`~qxbench.probes.prompts.PromptSet`;
labels and perplexities from :mod:`qxbench.probes.scoring`, greedy answers from :mod:`qxbench.engine.generate`.

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
from dataclasses import dataclass, field
from typing import Any

from qxbench.engine.generate import generate, generate_answers
from qxbench.engine.lm import GeneratingLM, ProbeLM, ScoringLM
from qxbench.errors import unknown
from qxbench.probes import answers as reader
from qxbench.probes import refcache
from qxbench.probes.codec import ADDED
from qxbench.probes.insertion import POSITIONS, WORDS, insertions
from qxbench.probes.logged import log_text
from qxbench.probes.prompts import PromptSet
from qxbench.probes.scoring import argmax, classify, input_keys, labels_again, perplexities, runner_up

REWRITE_TOKENS = 96
EXPLAIN_TOKENS = 64


def formatted(lm: GeneratingLM, prompts: PromptSet, prompt: str) -> str:
    """``prompt`` as ``lm`` reads it under the run's chat settings (the chat template under
    ``--apply_chat_template``): what the logged results record as sent."""
    return prompts.formatter(lm)(prompt)


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


def rewrite_cap(lm: ScoringLM, text: str) -> int:
    """instruct-1's cap on a rewrite: twice the edited part's tokens plus 16 (at most ``REWRITE_TOKENS``).
    A minimal edit is about as long as its input; the cap binds only on answers that run on (a
    rewrite twice as long as its input is scored near minimality 1 either way)."""
    return min(REWRITE_TOKENS, 2 * len(lm.tok_encode(text)) + 16)


def _labels(lm: ScoringLM, docs: Sequence[Mapping[str, Any]], rewrites: Sequence[str], prompts: PromptSet,
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


@dataclass(frozen=True)
class Reference:
    """Who judges a config's counterfactuals, stated by the caller (issue 40: never read from object identity):
    ``lm``, the full-precision reference (None: no reference, ``reference=none``), and ``is_config``: the config
    is its own reference (full precision: its scores are the references' numbers, kept for the other configs)."""

    lm: ProbeLM | None = None
    is_config: bool = False


def counterfactuals(lm: ProbeLM, docs: Sequence[Mapping[str, Any]], reference: Reference = Reference(),
                    prompts: PromptSet | None = None) -> list[Counterfactual]:
    prompts = prompts or PromptSet("completion-0")
    n = len(docs)
    scores = classify(lm, docs, prompts=prompts)
    if reference.is_config and (keys := input_keys(lm, docs, prompts)):  # full precision: kept for its references
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
    other = None if reference.is_config else reference.lm  # a judge other than the config itself, if any
    own = perplexities(lm, texts + inputs if other is None else texts)
    ppl = _spread(n, flips, own[:len(flips)])
    judged = own if other is None else perplexities(other, texts + inputs, title="reference perplexity")
    input_ppl = _spread(n, flips, judged[len(flips):])
    ref_ppl: list[float | None] = [None] * n
    ref_preds: list[int | None] = [None] * n
    ref_rewrite: list[int | None] = [None] * n
    if reference.is_config:  # full precision is its own reference and judge: the same numbers
        ref_ppl, ref_preds, ref_rewrite = list(ppl), list(preds), list(rewrite_preds)
    elif other is not None:
        ref_ppl = list(_spread(n, flips, judged[:len(flips)]))
        chosen = set(valid)
        only_valid = [read[i].text if i in chosen else "" for i in range(n)]  # the others are not classified
        ref_preds, ref_rewrite = _labels(other, docs, only_valid, prompts, "reference ")
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


def explanations(lm: ProbeLM, docs: Sequence[Mapping[str, Any]], prompts: PromptSet | None = None,
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
                               prompts=prompts.name, explain_prompt=formatted(lm, prompts, asks[i]),
                               pred_again=again[i]))
    return out
