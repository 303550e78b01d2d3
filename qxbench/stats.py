"""Paired differences with a bootstrap confidence interval: how every probe score is reported.

Quantization can move a score either way, so a score is never shown alone: it is the mean
per-document difference candidate - baseline over the same documents, with a percentile
bootstrap CI that resamples documents (keeping each pair together).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PairedDiff:
    mean: float  # mean of (candidate - baseline) over documents defined in both
    low: float
    high: float
    n: int  # documents used

    @property
    def excludes_zero(self) -> bool:
        return self.n > 0 and (self.low > 0 or self.high < 0)


def paired_diff(baseline: Sequence[float], candidate: Sequence[float], *, iters: int = 2000, level: float = 0.95,
                seed: int = 0) -> PairedDiff:
    """Mean difference and percentile bootstrap CI. Pairs where either value is NaN are dropped;
    no pairs left -> all NaN and n = 0; one pair -> a zero-width interval."""
    if len(baseline) != len(candidate):
        raise ValueError(f"paired values need equal lengths, got {len(baseline)} and {len(candidate)}")
    diffs = [c - b for b, c in zip(baseline, candidate, strict=True) if not (math.isnan(b) or math.isnan(c))]
    if not diffs:
        return PairedDiff(math.nan, math.nan, math.nan, 0)
    values = np.asarray(diffs, dtype=np.float64)
    n = len(values)
    rng = np.random.default_rng(seed)
    means = np.empty(iters)
    for start in range(0, iters, 256):  # bounded memory: 256 resamples of n documents at a time
        stop = min(iters, start + 256)
        means[start:stop] = values[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    means.sort()
    tail = (1 - level) / 2
    low = means[min(iters - 1, int(math.floor(tail * iters)))]
    high = means[min(iters - 1, int(math.ceil((1 - tail) * iters)) - 1)]
    return PairedDiff(float(values.mean()), float(low), float(high), n)
