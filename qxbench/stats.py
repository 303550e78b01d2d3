"""Paired differences with a bootstrap confidence interval and a sign-flip permutation p-value, and the
Benjamini–Hochberg false-discovery-rate adjustment: how every probe score is reported and marked.

Quantization can move a score either way, so a score is never shown alone: it is the mean
per-document difference candidate - baseline over the same documents, with a percentile
bootstrap CI that resamples documents (keeping each pair together). Whether a difference is marked
is decided by its p-value from a paired sign-flip permutation test (under "quantization changes
nothing" each document's difference is as likely to have either sign), adjusted across the table
it appears in by Benjamini & Hochberg (1995, JRSS B 57:289-300, the step-up rule). A comparison whose
differences could never give p <= FDR (fewer than six documents differ: :func:`smallest_p`) is left out of
that family before the adjustment, so an all-zero comparison does not dilute the others' marks.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EXACT_MAX_N = 16  # up to 2**16 sign vectors: enumerated (an exact p-value); above, RESAMPLES seeded draws
RESAMPLES = 10_000
FDR = 0.05  # the false discovery rate the marks control


@dataclass(frozen=True)
class PairedDiff:
    mean: float  # mean of (candidate - baseline) over documents defined in both
    low: float
    high: float
    n: int  # documents used
    p: float = math.nan  # two-sided sign-flip permutation p-value of the mean; NaN when n = 0
    nonzero: int = 0  # documents whose difference is not zero (:func:`nonzero_count`): what the test can read

    @property
    def excludes_zero(self) -> bool:
        return self.n > 0 and (self.low > 0 or self.high < 0)


def sign_flip_p(diffs: Sequence[float], *, resamples: int = RESAMPLES, seed: int = 0) -> float:
    """Two-sided p-value of the mean of paired differences under the sign-flip null: the share of sign
    assignments whose mean is at least as far from 0 as the observed one. Exact (every one of the 2**n
    assignments) for n <= EXACT_MAX_N, else ``resamples`` seeded random assignments with the
    observed one counted, p = (1 + hits) / (1 + resamples) (never 0). Zero differences carry no sign:
    all-zero -> 1.0. NaN differences are an error (drop them first); no differences -> NaN."""
    values = np.asarray(diffs, dtype=np.float64)
    if values.size == 0:
        return math.nan
    if np.isnan(values).any():
        raise ValueError("sign_flip_p: NaN differences (drop undefined pairs first)")
    observed = abs(values.sum())
    tolerance = _tolerance(values)  # ties within rounding count as "as extreme"
    n = values.size
    if n <= EXACT_MAX_N:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        return float(np.mean(np.abs(signs @ values) >= observed - tolerance))
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, resamples, 1024):  # bounded memory
        size = min(resamples, start + 1024) - start
        signs = rng.choice((1.0, -1.0), size=(size, n))
        hits += int(np.count_nonzero(np.abs(signs @ values) >= observed - tolerance))
    return (1 + hits) / (1 + resamples)


def _tolerance(values: np.ndarray) -> float:
    return 1e-9 * max(1.0, float(np.abs(values).sum()))


def nonzero_count(diffs: Sequence[float]) -> int:
    """How many differences are not zero, within :func:`sign_flip_p`'s rounding tolerance: the only ones
    whose sign the test reads."""
    values = np.asarray(diffs, dtype=np.float64)
    return int(np.count_nonzero(np.abs(values) > _tolerance(values))) if values.size else 0


def smallest_p(nonzero: int) -> float:
    """The smallest p-value the sign-flip test can give when ``nonzero`` documents differ, whatever the
    signs: 2 / 2**nonzero (only the two all-one-sign assignments reach the largest |sum|), 1 for 0 or 1.

    It depends on the differences' sizes only, which under the sign-flip null are independent of the
    signs the test reads, so leaving out the comparisons whose smallest p exceeds the FDR level (they can
    never be marked, not even unadjusted) keeps the others' p-values valid: independent filtering
    (Bourgon, Gentleman & Huber 2010, PNAS 107:9546-9551), the rule Tarone (1990, Biometrics 46:1071-1079)
    gave for discrete tests and Gilbert (2005, JRSS C 54:143-158) carried to the false discovery rate.
    Fewer than 6 differing documents (2 / 2**5 = 0.0625 > 0.05) cannot be marked."""
    if nonzero < 0:
        raise ValueError(f"smallest_p: nonzero must be >= 0, got {nonzero}")
    return min(1.0, 2.0 ** (1 - nonzero))


def bh_adjust(pvalues: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (q-values): q_(i) = min_{j >= i} min(1, m p_(j) / j) over the
    m p-values sorted ascending; reject where q <= the FDR level. NaN entries (no test) stay NaN and do
    not count in m. Same order as the input."""
    p = np.asarray(pvalues, dtype=np.float64)
    if p.size and (np.nanmin(p, initial=0.0) < 0 or np.nanmax(p, initial=0.0) > 1):
        raise ValueError(f"bh_adjust: p-values must lie in [0, 1], got {p[(p < 0) | (p > 1)][:3].tolist()}")
    q = np.full(p.shape, math.nan)
    tested = np.flatnonzero(~np.isnan(p))
    m = tested.size
    if m == 0:
        return q.tolist()
    order = tested[np.argsort(p[tested], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return q.tolist()


def testable(nonzero: int | None) -> bool:
    """Whether a comparison with ``nonzero`` differing documents could reach p <= FDR (:func:`smallest_p`);
    ``None``: not known (a record written before it was kept), taken as testable."""
    return nonzero is None or smallest_p(nonzero) <= FDR


def bh_testable(pvalues: Sequence[float], nonzero: Sequence[int | None]) -> list[float]:
    """:func:`bh_adjust` over the comparisons whose test could reach p <= FDR; the others (``nonzero``
    documents differing, :func:`smallest_p` > FDR) get NaN, as a comparison with no test. ``None`` in
    ``nonzero``: not known (a record written before it was kept), tested."""
    if len(pvalues) != len(nonzero):
        raise ValueError(f"bh_testable: {len(pvalues)} p-values but {len(nonzero)} counts")
    kept = [p if testable(k) else math.nan for p, k in zip(pvalues, nonzero, strict=True)]
    return bh_adjust(kept)


def bh_testable_or_none(pvalues: Sequence[float], nonzero: Sequence[int | None]) -> list[float | None]:
    """:func:`bh_testable` with ``None`` where there is no test (what a JSON record holds: JSON has no NaN)."""
    return [None if math.isnan(q) else q for q in bh_testable(pvalues, nonzero)]


def paired_diff(baseline: Sequence[float], candidate: Sequence[float], *, iters: int = 2000, level: float = 0.95,
                seed: int = 0, resamples: int = RESAMPLES) -> PairedDiff:
    """Mean difference, percentile bootstrap CI and sign-flip p-value (:func:`sign_flip_p`). Pairs where
    either value is NaN are dropped; no pairs left -> all NaN and n = 0; one pair -> a zero-width interval."""
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
    return PairedDiff(float(values.mean()), float(low), float(high), n,
                      sign_flip_p(values, resamples=resamples, seed=seed), nonzero_count(values))
