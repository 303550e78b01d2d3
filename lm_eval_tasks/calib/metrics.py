"""calib's calibration metrics: pure functions of (confidence, correct[, order]) items.

``ace`` is the study's (Sajjad & Singh, MSingh-CSE/LLM-Quantization-Effects
``analysis_and_viz/ace.py:12-31``, ``calculate_ace(df, num_bins=10)``), reproduced exactly. ``ece``
and ``brier`` have no reference code in the study; their definitions are cited on each function.

An item's optional third element is its document's position: ACE sorts by confidence alone with
ties in that order, so the result does not depend on the order lm-eval hands the items over.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["ace", "ece", "brier"]

Item = Sequence[float]  # (confidence, correct) or (confidence, correct, order)


def _sorted(items: Sequence[Item]) -> list[tuple[float, float]]:
    """Ascending confidence, NaN last (pandas' ``na_position='last'``), ties by order (a stable sort:
    pandas' default quicksort gives the input order on the reference's tied cases, see calib.json)."""
    rows = [(float(it[0]), float(it[1]), float(it[2]) if len(it) > 2 else float(i)) for i, it in enumerate(items)]
    rows.sort(key=lambda r: (math.isnan(r[0]), 0.0 if math.isnan(r[0]) else r[0], r[2]))
    return [(c, k) for c, k, _ in rows]


def ace(items: Sequence[Item], bins: int = 10) -> float:
    """Adaptive calibration error, ``analysis_and_viz/ace.py:12-31``: sort by confidence (``:13``);
    with n items, bin i = 0..bins-1 takes the next ``n // bins + (1 if i < n % bins else 0)`` (``:20``),
    so leftovers go to the first bins; ACE = sum over non-empty bins of |mean(correct) - mean(confidence)|
    (``:23-26``), divided by ``bins`` even when bins are empty (n < bins, ``:31``). Means as pandas
    takes them (numpy sums; a NaN confidence is skipped by the confidence mean, a bin of only NaN
    confidences makes ACE NaN). No items -> NaN (the reference returns 0.0: an empty sum / bins)."""
    if not items:
        return math.nan
    rows = _sorted(items)
    n, total, start = len(rows), 0.0, 0
    for i in range(bins):
        end = start + n // bins + (1 if i < n % bins else 0)
        chunk = rows[start:end]
        if chunk:
            accuracy = np.sum(np.array([k for _, k in chunk])) / len(chunk)
            conf = np.array([c for c, _ in chunk if not math.isnan(c)])
            confidence = np.sum(conf) / len(conf) if len(conf) else math.nan
            total += abs(float(accuracy) - float(confidence))
        start = end
    return total / bins


def ece(items: Sequence[Item], bins: int = 10) -> float:
    """Expected calibration error with equal-width bins: Guo et al. 2017, "On Calibration of Modern
    Neural Networks", Eq. 3 (after Naeini et al. 2015): sum over bins of (bin size / n) x |accuracy -
    mean confidence|. Bins [m/bins, (m+1)/bins), 1.0 in the last (Guo's intervals are right-closed:
    only a confidence exactly on a boundary differs). No reference code in the study (its paper
    reports ACE only); HELM's headline ``ece_10_bin`` uses equal-mass bins instead. NaN confidences
    are left out; no items -> NaN."""
    pairs = [(float(it[0]), float(it[1])) for it in items if not math.isnan(float(it[0]))]
    if not pairs:
        return math.nan
    groups: dict[int, list[tuple[float, float]]] = {}
    for c, k in pairs:
        groups.setdefault(min(int(c * bins), bins - 1), []).append((c, k))
    n = len(pairs)
    return sum(len(g) / n * abs(sum(k for _, k in g) / len(g) - sum(c for c, _ in g) / len(g))
               for g in groups.values())


def brier(confidence: float, correct: bool) -> float:
    """Top-label Brier score of one answer, (confidence - 1[correct])^2: Brier 1950's squared error
    applied to the predicted answer's probability only (no reference code in the study)."""
    return (confidence - float(correct)) ** 2
