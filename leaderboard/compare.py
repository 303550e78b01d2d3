"""Pair each run with its model's full-precision run, metric by metric, over the same documents."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from leaderboard.display import Display
from leaderboard.runs import Run, TaskResult
from qxbench.stats import paired_diff


@dataclass(frozen=True)
class Cell:
    model: str
    config: str
    task: str
    metric: str
    value: float
    higher_is_better: bool | None  # None: informational (display.yaml), no better direction
    baseline: float | None = None  # the full-precision value; None when not compared
    diff: float | None = None  # value - baseline, over the documents both runs share; None when not compared
    low: float | None = None  # 95 % paired-bootstrap CI of diff; None without per-sample logs
    high: float | None = None
    n: int = 0
    note: str = ""

    @property
    def degradation(self) -> float | None:
        """Positive = worse than full precision, in the metric's own units; None when not compared or
        informational."""
        if self.diff is None or self.higher_is_better is None:
            return None
        return (-self.diff if self.higher_is_better else self.diff) + 0.0  # + 0.0: no "-0"

    @property
    def degradation_interval(self) -> tuple[float, float] | None:
        """The CI of :attr:`degradation`, in its sign convention (positive = worse)."""
        if self.low is None or self.high is None or self.degradation is None:
            return None
        if self.higher_is_better:
            return -self.high + 0.0, -self.low + 0.0
        return self.low, self.high

    @property
    def significant(self) -> bool:
        """The CI of the difference excludes 0."""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "degradation": self.degradation, "significant": self.significant}


def comparable(base: TaskResult, cand: TaskResult, task: str) -> str:
    """Why two results of a task cannot be compared ('' when they can)."""
    if base.version != cand.version:
        return f"{task}: task versions differ ({base.version} vs {cand.version})"
    if base.limit != cand.limit:
        return f"{task}: --limit differs ({base.limit} vs {cand.limit})"
    if base.n != cand.n:
        return f"{task}: document counts differ ({base.n} vs {cand.n})"
    if base.per_doc is not None and cand.per_doc is not None and set(base.per_doc) != set(cand.per_doc):
        return f"{task}: the runs evaluated different documents"
    return ""


def mismatches(base: Run, cand: Run) -> list[str]:
    """Everything that makes two runs not comparable: base model, and per shared task the version,
    --limit, document count or document set. Empty when they are comparable."""
    found = [f"base models differ ({base.model} vs {cand.model})"] if base.model != cand.model else []
    for task in sorted(set(base.tasks) & set(cand.tasks)):
        why = comparable(base.tasks[task], cand.tasks[task], task)
        if why:
            found.append(why)
    return found


def compare_task(model: str, config: str, task: str, cand: TaskResult, base: TaskResult | None, display: Display,
                 *, note: str = "", iters: int = 2000) -> list[Cell]:
    """One cell per candidate metric; with ``base``, its difference to it (paired per document when
    both runs logged samples). A value that is not finite on either side is shown, never compared."""
    cells = []
    for metric, value in sorted(cand.metrics.items()):
        hib = display.higher_is_better(task, metric, cand.higher_is_better.get(metric))
        if not math.isfinite(value):
            cells.append(Cell(model, config, task, metric, value, hib, note=f"{value} in the results: not compared"))
            continue
        if base is None or metric not in base.metrics:
            cells.append(Cell(model, config, task, metric, value, hib,
                              note=note if base is None else "not in the full-precision run"))
            continue
        reference = base.metrics[metric]
        if not math.isfinite(reference):
            cells.append(Cell(model, config, task, metric, value, hib, reference,
                              note=f"full precision is {reference}: not compared"))
            continue
        diff, low, high, n, extra = value - reference, None, None, cand.n or 0, ""
        if base.per_doc is not None and cand.per_doc is not None:
            docs = sorted(set(base.per_doc) & set(cand.per_doc))
            paired = paired_diff([base.per_doc[d].get(metric, math.nan) for d in docs],
                                 [cand.per_doc[d].get(metric, math.nan) for d in docs], iters=iters)
            if paired.n:
                diff, low, high, n = paired.mean, paired.low, paired.high, paired.n
            elif not docs:
                extra = "no document logged by both runs: no confidence interval"
            else:
                extra = "no per-document values (a corpus-level metric): no confidence interval"
        else:
            extra = "no per-sample logs (--log_samples): no confidence interval"
        cells.append(Cell(model, config, task, metric, value, hib, reference, diff, low, high, n, extra))
    return cells


def build_cells(runs: list[Run], display: Display, *, iters: int = 2000) -> tuple[list[Cell], list[str]]:
    """Every (model, config, task, metric); quantized runs paired with their model's ``fp`` run.
    Returns the cells and the notes (missing baselines and metrics, refused comparisons) to show the user."""
    fp = {r.model: r for r in runs if r.config == "fp"}
    cells: list[Cell] = []
    notes: list[str] = []
    for run in runs:
        base_run = fp.get(run.model)
        if run is base_run:  # full precision is shown as values, not as a difference to itself
            for task, result in run.tasks.items():
                cells += compare_task(run.model, run.config, task, result, None, display)
            continue
        if base_run is None:
            notes.append(f"{run.model}: no full-precision run (quant=none); {run.config} is shown as absolute values")
        for task, result in run.tasks.items():
            base = base_run.tasks.get(task) if base_run else None
            why = comparable(base, result, task) if base is not None else ""
            if why:
                notes.append(f"{run.model} {run.config}: not compared with full precision: {why}")
                base = None
            elif base is not None:
                notes += [f"{run.model} {run.config}: {task}/{m} is missing (full precision has it)"
                          for m in sorted(set(base.metrics) - set(result.metrics))]
            note = why or ("no full-precision run" if base_run is None else "")
            cells += compare_task(run.model, run.config, task, result, base, display, note=note, iters=iters)
    return cells, notes
