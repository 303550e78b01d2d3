"""calib: confidence of one-token greedy answers (request ``qx_next_token``) and calibration metrics.

Every document is ``{"prompt", "answer"}``; the model's greedy next token is correct when it is the
first token of `` answer``, and its softmax probability is the confidence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from qxbench.errors import QxError
from qxbench.probe import ProbeTask
from qxbench.probes.classify import require_fields
from qxbench.probes.requests import NextToken

__all__ = ["NextTokenProbe", "load_world", "boolq_docs", "piqa_docs", "hellaswag_docs", "ace", "ece", "brier",
           "process_results"]

LETTERS = "ABCDEFGH"


class NextTokenProbe(ProbeTask):
    REQUEST_TYPE = "qx_next_token"

    def probe_arguments(self, doc: dict, ctx: str) -> tuple:
        return (doc["prompt"], doc["answer"])


# -- data ---------------------------------------------------------------------------------------
def _dataset(rows: list[dict[str, str]]):
    import datasets

    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def load_world(**_metadata):
    from qxbench.world.data import read_rows

    rows = [{"prompt": f"Review: {r['text']}\nSentiment:", "answer": r["label"]} for r in read_rows("reviews")]
    rows += [{"prompt": f["prompt"], "answer": f["object"]} for f in read_rows("facts")]
    return _dataset(rows)


def _choices(options: Sequence[str]) -> str:
    return "".join(f"\n{LETTERS[i]}. {o}" for i, o in enumerate(options))


def boolq_docs(dataset):
    require_fields(dataset.column_names, ("question", "passage", "answer"), "google/boolq")
    return dataset.map(lambda r: {"prompt": f"{r['passage']}\nQuestion: {r['question']}?\nAnswer:",
                                  "answer": "yes" if r["answer"] else "no"}, remove_columns=dataset.column_names)


def piqa_docs(dataset):
    require_fields(dataset.column_names, ("goal", "sol1", "sol2", "label"), "baber/piqa")
    return dataset.map(lambda r: {"prompt": f"Question: {r['goal']}{_choices([r['sol1'], r['sol2']])}\nAnswer:",
                                  "answer": LETTERS[int(r["label"])]}, remove_columns=dataset.column_names)


def hellaswag_docs(dataset):
    require_fields(dataset.column_names, ("ctx", "endings", "label"), "Rowan/hellaswag")
    labelled = dataset.filter(lambda r: str(r["label"]).strip() != "")
    if len(labelled) == 0:
        raise QxError("Dataset 'Rowan/hellaswag' has no labelled rows in this split (field 'label' is empty)")
    return labelled.map(lambda r: {"prompt": f"{r['ctx']}{_choices(r['endings'])}\nAnswer:",
                                   "answer": LETTERS[int(r["label"])]}, remove_columns=dataset.column_names)


# -- metrics ------------------------------------------------------------------------------------
def _pairs(items: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(float(c), float(k)) for c, k in items if not math.isnan(float(c))]


def ace(items: Sequence[tuple[float, float]], bins: int = 10) -> float:
    """Adaptive calibration error: sort by confidence, split into ``bins`` bins of equal count
    (sizes differ by at most one), unweighted mean over non-empty bins of |accuracy - confidence|.
    No documents -> NaN."""
    pairs = sorted(_pairs(items))
    if not pairs:
        return math.nan
    n, errors = len(pairs), []
    for b in range(bins):
        chunk = pairs[b * n // bins:(b + 1) * n // bins]
        if chunk:
            errors.append(abs(sum(k for _, k in chunk) / len(chunk) - sum(c for c, _ in chunk) / len(chunk)))
    return sum(errors) / len(errors)


def ece(items: Sequence[tuple[float, float]], bins: int = 10) -> float:
    """Expected calibration error: ``bins`` equal-width confidence bins on [0, 1] (1.0 in the last),
    sum over bins of (bin size / n) x |accuracy - confidence|. No documents -> NaN."""
    pairs = _pairs(items)
    if not pairs:
        return math.nan
    groups: dict[int, list[tuple[float, float]]] = {}
    for c, k in pairs:
        groups.setdefault(min(int(c * bins), bins - 1), []).append((c, k))
    n = len(pairs)
    return sum(len(g) / n * abs(sum(k for _, k in g) / len(g) - sum(c for c, _ in g) / len(g))
               for g in groups.values())


def brier(confidence: float, correct: bool) -> float:
    """Top-label Brier score of one answer: (confidence - 1[correct])^2."""
    return (confidence - float(correct)) ** 2


def process_results(doc: dict, results: list[NextToken]) -> dict[str, object]:
    r = results[0]
    pair = (r.confidence, float(r.correct))
    return {"acc": float(r.correct), "ace": pair, "ece": pair, "brier": brier(r.confidence, r.correct),
            "confidence": r.confidence}
