"""One cell of the leaderboard: a (model, config, task, metric), its value and, compared with full precision,
its paired difference, interval, p- and q-value, and what they mean (degradation, verdict)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from qxbench.stats import FDR, testable


@dataclass(frozen=True)
class Cell:
    model: str
    config: str
    task: str
    metric: str
    value: float  # compared and paired: the mean over the paired documents (so value - baseline = diff)
    higher_is_better: bool | None  # None: informational (display.yaml), no better direction
    baseline: float | None = None  # the full-precision value, over the same documents; None when not compared
    diff: float | None = None  # value - baseline, over the documents both runs share; None when not compared
    low: float | None = None  # 95 % paired-bootstrap CI of diff; None without per-sample logs
    high: float | None = None
    n: int = 0  # documents behind the difference (paired: defined in both runs), else behind the value
    note: str = ""
    n_value: int = 0  # documents on which the candidate defines the metric (all of its documents when unpaired)
    n_baseline: int = 0  # the same for full precision; 0 when not compared
    paired: bool = False  # value, baseline and diff come from the same per-document values
    not_comparable: str = ""  # why the difference must not be read as better or worse (see guards.py)
    p: float | None = None  # two-sided paired sign-flip permutation p-value of diff (qxbench.stats.sign_flip_p)
    q: float | None = None  # Benjamini–Hochberg adjusted p across the table's comparisons (apply_fdr)
    # paired: documents whose difference is not zero; under 6 the test cannot reach p <= 0.05 and the cell
    # leaves the BH family (qxbench.stats.smallest_p); None: not known (then it stays in)
    nonzero: int | None = None
    relative: bool = False  # shown as a relative change (display.yaml `relative`; see relative_diff)
    count: bool = False  # a count (display.yaml `count`): value, baseline and diff are sums over the paired docs
    # relative and paired over positive values: mean log(candidate / baseline) per document, its CI (and
    # then p tests it): the change of the geometric mean, robust to the few huge perplexities of garbage text
    log_ratio: float | None = None
    log_low: float | None = None
    log_high: float | None = None
    # the config's task reports `noise` and |diff| is at most its rate (display.yaml `noise_floor`; labels.mark_noise)
    within_noise: bool = False

    @property
    def degradation(self) -> float | None:
        """Positive = worse than full precision, in the metric's own units; None when not compared,
        informational or not comparable."""
        if self.diff is None or self.higher_is_better is None or self.not_comparable:
            return None
        change = math.expm1(self.log_ratio) if self.log_ratio is not None else self.diff  # relative: in its units
        return (-change if self.higher_is_better else change) + 0.0  # + 0.0: no "-0"

    @property
    def degradation_interval(self) -> tuple[float, float] | None:
        """The CI of :attr:`degradation`, in its sign convention (positive = worse)."""
        if self.low is None or self.high is None or self.degradation is None:
            return None
        low, high = self.low, self.high
        if self.log_ratio is not None and self.log_low is not None and self.log_high is not None:
            low, high = math.expm1(self.log_low), math.expm1(self.log_high)
        if self.higher_is_better:
            return -high + 0.0, -low + 0.0
        return low, high

    @property
    def relative_diff(self) -> tuple[float, float, float] | None:
        """A ``relative`` metric's change: exp(mean log ratio) - 1 with its interval where the documents were
        paired on positive values (:attr:`log_ratio`), else (diff, low, high) / |baseline|; None otherwise."""
        if not self.relative or self.diff is None:
            return None
        if self.log_ratio is not None and self.log_low is not None and self.log_high is not None:
            return math.expm1(self.log_ratio), math.expm1(self.log_low), math.expm1(self.log_high)
        if not self.baseline:
            return None
        scale = abs(self.baseline)
        low, high = (math.nan if v is None else v / scale for v in (self.low, self.high))
        return self.diff / scale, low, high

    @property
    def untestable(self) -> bool:
        """Paired, but too few documents differ for any p <= FDR (all-zero differences among them): left
        out of the BH family, which it could only dilute (independent filtering: :func:`smallest_p`)."""
        return not testable(self.nonzero)

    @property
    def significant(self) -> bool:
        """Marked: its Benjamini–Hochberg q-value is at most FDR (5 %), the difference is comparable and not
        :attr:`within_noise` (within the config's noise floor: never marked, though its p and q are kept).
        The interval is reported as it is; it does not decide the mark."""
        return not self.not_comparable and not self.within_noise and self.q is not None and self.q <= FDR

    @property
    def verdict(self) -> str:
        """"worse" / "better" (marked: q <= FDR, by the metric's direction), "unchanged" (not
        marked), "not comparable" (a guard), or "" (not compared, or informational)."""
        if self.diff is None or self.higher_is_better is None:
            return ""
        if self.not_comparable:
            return "not comparable"
        if not self.significant:
            return "unchanged"
        return "worse" if (self.degradation or 0.0) > 0 else "better"

    def as_dict(self) -> dict[str, object]:
        rel = self.relative_diff
        return {**asdict(self), "degradation": self.degradation, "significant": self.significant,
                "verdict": self.verdict, "relative_diff": rel[0] if rel else None,
                "relative_low": rel[1] if rel else None, "relative_high": rel[2] if rel else None}
