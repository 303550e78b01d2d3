"""The explanation probes' labels and perplexities, through any lm-eval LM: classification prompts built from a
:class:`~qxbench.probes.prompts.PromptSet` and scored by the qx model's shared-prefix pass
(:mod:`qxbench.engine.choices`) or, for another LM, by lm-eval's ``loglikelihood`` (:mod:`qxbench.lmeval.calls`);
the noise floor's second batch composition; the keys of a full-precision model's kept labels
(:mod:`qxbench.probes.refcache`); perplexities by lm-eval's ``loglikelihood_rolling``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from qxbench import progress
from qxbench.engine.choices import per_character
from qxbench.engine.forward import rows_per_batch
from qxbench.engine.lm import ScoringLM
from qxbench.lmeval.calls import instances
from qxbench.probes import refcache
from qxbench.probes.prompts import PromptSet


def classify(lm: ScoringLM, docs: Sequence[Mapping[str, Any]], texts: Sequence[str] | None = None,
             title: str = "classify", unit: str = "doc", prompts: PromptSet | None = None,
             groups: Sequence[Any] | None = None, batch_size: int | None = None) -> list[list[float]]:
    """Per document, the score of each choice: the log-likelihood of `` choice`` after the prompt, per
    character of the choice where the document says ``normalise`` and a choice spans several tokens
    (:func:`per_character`; lm-eval's ``acc_norm``: ``lm_eval/api/task.py``, ``process_results`` for
    ``multiple_choice``). Under a chat template (``prompts.chat``) the prompt set's answer cue follows
    the assistant header (:meth:`PromptSet.classify_parts`). ``texts`` replace the edited
    part; the fixed part (``context``) is the document's. ``groups``: texts with the same key (one
    document's variants) share their prompt's common beginning (:mod:`qxbench.engine.choices`).
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
            flat = iter([ll for ll, _ in lm.loglikelihood(instances("loglikelihood", args), disable_tqdm=True)])
            grouped = [[next(flat) for _ in xs] for xs in choices]
    return [[ll / len(c) for ll, c in zip(lls, d["choices"], strict=True)]
            if _scored_per_character(lm, ctx, d) else list(lls)
            for lls, ctx, d in zip(grouped, contexts, docs, strict=True)]


def _scored_per_character(lm: ScoringLM, context: str, doc: Mapping[str, Any]) -> bool:
    return bool(doc.get("normalise")) and per_character(lm, context, doc["choices"])


def _contexts(lm: ScoringLM, docs: Sequence[Mapping[str, Any]], texts: Sequence[str], prompts: PromptSet) -> list[str]:
    """The text each classification prompt is, as the model reads it (before `` choice``)."""
    fmt, chat = prompts.formatter(lm), prompts.chat.apply
    contexts = []
    for d, t in zip(docs, texts, strict=True):
        user, cue = prompts.classify_parts(d, t)
        contexts.append(fmt(user) if cue is None else fmt(user) + cue if chat else fmt(f"{user}\n{cue}"))
    return contexts


def input_keys(lm: ScoringLM, docs: Sequence[Mapping[str, Any]], prompts: PromptSet) -> list[str] | None:
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


def labels_again(lm: ScoringLM, docs: Sequence[Mapping[str, Any]], prompts: PromptSet) -> list[int | None]:
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


def perplexities(lm: ScoringLM, texts: Sequence[str], title: str = "perplexity") -> list[float]:
    """Token-level perplexity of each text (rolling loglikelihood); NaN for an empty text. The bar
    counts one request per text (a text longer than the model's context sends more: it waits at the end)."""
    todo = [i for i, t in enumerate(texts) if t.strip()]
    with progress.phase(title, len(texts), requests=len(todo)):
        lls = lm.loglikelihood_rolling(instances("loglikelihood_rolling", [(texts[i],) for i in todo]),
                                       disable_tqdm=True)
    out = [math.nan] * len(texts)
    for i, ll in zip(todo, lls, strict=True):
        out[i] = math.exp(-ll / max(1, len(lm.tok_encode(texts[i]))))
    return out
