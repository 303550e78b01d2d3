"""Pair each run with its model's full-precision run, metric by metric, over the same documents."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from leaderboard.display import Display
from leaderboard.runs import Run, TaskResult
from qxbench.errors import QxError
from qxbench.stats import paired_diff


@dataclass(frozen=True)
class Cell:
    model: str
    config: str
    task: str
    metric: str
    value: float
    higher_is_better: bool
    baseline: float | None = None  # the full-precision value; None when not compared
    diff: float | None = None  # value - baseline, over the documents both runs share
    low: float | None = None  # 95 % paired-bootstrap CI of diff; None without per-sample logs
    high: float | None = None
    n: int = 0
    note: str = ""

    @property
    def degradation(self) -> float | None:
        """Positive = worse than full precision, in the metric's own units."""
        if self.diff is None:
            return None
        return (-self.diff if self.higher_is_better else self.diff) + 0.0  # + 0.0: no "-0"

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


def compare_task(model: str, config: str, task: str, cand: TaskResult, base: TaskResult | None, display: Display,
                 *, note: str = "", iters: int = 2000) -> list[Cell]:
    cells = []
    for metric, value in sorted(cand.metrics.items()):
        hib = display.higher_is_better(task, metric, cand.higher_is_better.get(metric))
        cell = Cell(model, config, task, metric, value, hib, note=note)
        if base is not None and metric in base.metrics:
            diff, low, high, n, extra = value - base.metrics[metric], None, None, cand.n or 0, ""
            if base.per_doc is not None and cand.per_doc is not None:
                docs = sorted(base.per_doc)
                paired = paired_diff([base.per_doc[d].get(metric, math.nan) for d in docs],
                                     [cand.per_doc[d].get(metric, math.nan) for d in docs], iters=iters)
                if paired.n:
                    diff, low, high, n = paired.mean, paired.low, paired.high, paired.n
                else:
                    extra = "no per-document values (a corpus-level metric): no confidence interval"
            else:
                extra = "no per-sample logs (--log_samples): no confidence interval"
            cell = Cell(model, config, task, metric, value, hib, base.metrics[metric], diff, low, high, n, extra)
        cells.append(cell)
    return cells


def build_cells(runs: list[Run], display: Display, *, iters: int = 2000) -> tuple[list[Cell], list[str]]:
    """Every (model, config, task, metric); quantized runs paired with their model's ``fp`` run.
    Returns the cells and the notes (missing baselines, refused comparisons) to show the user."""
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
            note = why or ("no full-precision run" if base_run is None else "")
            cells += compare_task(run.model, run.config, task, result, base, display, note=note, iters=iters)
    return cells, notes


def require_comparable(base: Run, cand: Run) -> None:
    """For the gate: refuse (one line) what the leaderboard would only annotate."""
    common = sorted(set(base.tasks) & set(cand.tasks))
    if not common:
        raise QxError(f"The baseline ({', '.join(base.tasks) or 'no tasks'}) and the candidate "
                      f"({', '.join(cand.tasks) or 'no tasks'}) share no task")
    for task in common:
        why = comparable(base.tasks[task], cand.tasks[task], task)
        if why:
            raise QxError(f"Cannot compare: {why}")
