"""The size claims of the claims study (:mod:`benchmarks.studies.claims`): the two Qwen2.5-Coder models
paired over the same documents (same doc_id and doc_hash)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from benchmarks.studies.claims_rules import (
    CANNOT,
    FAITHFULNESS,
    HOLDS,
    LARGE,
    MODELS,
    NOT,
    PAIR,
    SMALL,
    Study,
    Verdict,
)


def per_doc_degradation(cell, cand, base) -> dict[int, float]:
    """doc_id -> the document's degradation (candidate − full precision, positive = worse) of ``cell``'s
    metric, where both runs define it on the same document: the leaderboard's pairing rule
    (:func:`~leaderboard.compare.pairing.defined_values`, :func:`~leaderboard.compare.pairing.changed_docs`)."""
    from leaderboard.compare.pairing import changed_docs

    own, theirs = per_doc_values(cand, cell.metric), per_doc_values(base, cell.metric)
    sign = -1.0 if cell.higher_is_better else 1.0
    return {d: sign * (own[d] - theirs[d]) for d in own.keys() & theirs.keys() - changed_docs(base, cand)}


def same_docs(small: dict, large: dict, a, b) -> list[int]:
    """The documents both models' values cover, with one doc_hash (the same data) where both logged it: the
    leaderboard's rule (:func:`~leaderboard.compare.pairing.changed_docs`)."""
    from leaderboard.compare.pairing import changed_docs

    return sorted(small.keys() & large.keys() - changed_docs(a, b))


@dataclass(frozen=True)
class SizeTest:
    label: str  # config, task and metric
    mean: float  # the 1.5B's minus the 0.5B's, over the same documents
    low: float
    high: float
    n: int
    p: float
    nonzero: int | None = None  # documents whose difference is not zero: under 6, not tested (smallest_p)
    q: float | None = None

    def line(self) -> str:
        q = "" if self.q is None else f" q={self.q:.3g}"
        return f"{self.label}: {self.mean:+.3g} [{self.low:+.3g}, {self.high:+.3g}] n={self.n}{q}"


def with_q(tests: list[SizeTest]) -> list[SizeTest]:
    """BH across ``tests``, leaving out (q None) those too few of whose documents differ to be tested."""
    from qxbench.stats import bh_testable_or_none

    qs = bh_testable_or_none([t.p for t in tests], [t.nonzero for t in tests])
    return [replace(t, q=q) for t, q in zip(tests, qs, strict=True)]


def size_verdict(tests: list[SizeTest], want: int, what: str, none: str) -> Verdict:
    """BH across ``tests``; holds if every marked mean has the sign ``want`` (and one is marked), does not if
    every marked one has the other, cannot tell if none is marked; mixed marks: does not hold."""
    from qxbench.stats import FDR

    scope = PAIR
    if not tests:
        return Verdict(scope, CANNOT, none)
    tests = with_q(tests)
    marked = [t for t in tests if t.q is not None and t.q <= FDR]
    agree = [t for t in marked if t.mean * want > 0]
    lines = tuple(t.line() for t in tests)
    why = f"{what}: {len(marked)} of {len(tests)} paired tests marked, {len(agree)} of them in the claim's direction"
    return Verdict(scope, CANNOT if not marked else HOLDS if len(agree) == len(marked) else NOT, why, lines)


def faithfulness_size(study: Study) -> Verdict:
    """Per config run on both Qwen models: the 1.5B's per-document degradation minus the 0.5B's."""
    from qxbench.stats import paired_diff

    index = {(c.model, c.config, c.task, c.metric): c for c in study.cells}
    tests, skipped = [], []
    for (model, config, task, metric), small in sorted(index.items()):
        large = index.get((LARGE, config, task, metric))
        if model != SMALL or metric not in FAITHFULNESS or large is None or study.is_fp(model, config):
            continue
        if small.degradation is None or large.degradation is None:
            skipped.append(f"{config} {task} {metric}: not comparable on one model")
            continue
        a, b = (result_pair(study, m, config, task) for m in (SMALL, LARGE))
        ds, dl = per_doc_degradation(small, *a), per_doc_degradation(large, *b)
        docs = same_docs(ds, dl, a[0], b[0])
        d = paired_diff([ds[x] for x in docs], [dl[x] for x in docs])
        if d.n:
            tests.append(SizeTest(f"{config} {task} {metric}", d.mean, d.low, d.high, d.n, d.p, d.nonzero))
    verdict = size_verdict(tests, -1, "the 1.5B's degradation minus the 0.5B's (negative: the 1.5B keeps more)",
                           "no quantized config compared on both Qwen models")
    return replace(verdict, evidence=verdict.evidence + tuple(skipped))


def result_pair(study: Study, model: str, config: str, task: str) -> tuple:
    """(the config's TaskResult, full precision's of the same dtype) of ``task`` for ``model``."""
    for runs in (r for (m, _), r in study.runs.items() if m == model):
        cand = next((r for r in runs if r.config == config and task in r.tasks), None)
        base = next((r for r in runs if r.is_fp and r.dtype == (cand.dtype if cand else None) and task in r.tasks),
                    None)
        if cand and base:
            return cand.tasks[task], base.tasks[task]
    raise KeyError(f"{model} {config} {task}: no run with its full precision")


def salient_size(study: Study, metric: str = "salient_sum") -> Verdict:
    """The 1.5B's per-document count of salient neurons minus the 0.5B's, both at full precision."""
    from qxbench.stats import paired_diff

    fp = {m: next(((r, t) for (mm, _), runs in study.runs.items() if mm == m for r in runs if r.is_fp
                   for t in r.tasks if t.startswith("neurons")), None) for m in MODELS}
    values = tuple(f"{m} full precision, {t}: mean {metric} {mean_of(r.tasks[t], metric):.3g} ({r.dtype})"
                   for m, found in fp.items() if found for r, t in [found])
    if not (fp[SMALL] and fp[LARGE]) or fp[SMALL][1] != fp[LARGE][1]:
        return Verdict(PAIR, CANNOT, "no neurons run of both Qwen models on one data set", values)
    (a, task), (b, _) = fp[SMALL], fp[LARGE]
    small, large = (per_doc_values(r.tasks[task], metric) for r in (a, b))
    docs = same_docs(small, large, a.tasks[task], b.tasks[task])
    d = paired_diff([small[x] for x in docs], [large[x] for x in docs])
    tests = [SizeTest(f"fp {task} {metric} (1.5B − 0.5B)", d.mean, d.low, d.high, d.n, d.p, d.nonzero)] if d.n else []
    verdict = size_verdict(tests, +1, "the 1.5B's salient neurons minus the 0.5B's", "no document in both runs")
    return replace(verdict, evidence=verdict.evidence + values)


def per_doc_values(result, metric: str) -> dict[int, float]:
    """doc_id -> the metric's finite value (the leaderboard's :func:`~leaderboard.compare.pairing.defined_values`;
    none without per-sample logs)."""
    from leaderboard.compare.pairing import defined_values

    return defined_values(result, metric) or {}


def mean_of(result, metric: str) -> float:
    values = list(per_doc_values(result, metric).values())
    return math.fsum(values) / len(values) if values else math.nan


# The explanation metrics compared between the two Qwen models at full precision (per document: 1 or 0, or a
# value; closeness only where a flip is valid on both): the size gradient the studies' family was chosen for.
GAP_METRICS = ("acc", "flip_rate_ref", "rewrite_valid", "rewrite_copy", "rewrite_leak", "minimality", "expl_valid",
               "expl_restates", "expl_truncated", "insert_flip", "unfaithful", "bertscore_minilm_f1")


def full_precision_gap(study: Study) -> list[SizeTest]:
    """Per task both Qwen models ran at full precision in one dtype, per :data:`GAP_METRICS` metric: the 1.5B's
    value minus the 0.5B's over the same documents, BH-adjusted across every test here."""
    from qxbench.stats import paired_diff

    def fp_runs(model: str) -> dict:
        return {(t, r.dtype): res for (m, _), runs in study.runs.items() if m == model for r in runs if r.is_fp
                for t, res in r.tasks.items()}

    small, large = fp_runs(SMALL), fp_runs(LARGE)
    tests = []
    for key in sorted(small.keys() & large.keys()):
        a, b = small[key], large[key]
        for metric in (m for m in GAP_METRICS if m in a.metrics and m in b.metrics):
            va, vb = per_doc_values(a, metric), per_doc_values(b, metric)
            docs = same_docs(va, vb, a, b)
            d = paired_diff([va[x] for x in docs], [vb[x] for x in docs])
            if d.n:
                tests.append(SizeTest(f"{key[0]} {metric} ({key[1]})", d.mean, d.low, d.high, d.n, d.p, d.nonzero))
    return with_q(tests)
