"""The regression gate: every thresholded metric's degradation against full precision must stay
within its threshold. Exit 0 = pass; 1 = a metric degraded too much, the candidate has no finite
value for it, or it is not comparable (a validity guard of display.yaml fired); 2 = bad input: a
threshold that is not a finite number >= 0, no threshold at all, a baseline without the metric, runs
that are not comparable (base model, task version, ``--limit``, documents) unless ``--allow-mismatch``
says to compare them anyway."""

from __future__ import annotations

import math
from dataclasses import dataclass

from leaderboard.compare.cell import Cell
from leaderboard.compare.labels import AGREE_FP
from leaderboard.compare.pairing import compare_task, mismatches
from leaderboard.display import Display
from leaderboard.read.results import Run
from leaderboard.twins import twin
from qxbench.errors import QxError, unknown


@dataclass(frozen=True)
class GateRow:
    cell: Cell
    threshold: float | None
    problem: str = ""  # why the candidate's value cannot be checked (missing, not finite): a failure

    @property
    def failed(self) -> bool:
        """A thresholded metric fails unless its degradation is a finite number within the threshold."""
        if self.threshold is None:
            return False
        d = self.cell.degradation
        return bool(self.problem) or d is None or not math.isfinite(d) or d > self.threshold

    @property
    def reason(self) -> str:
        return self.problem or "degraded beyond the threshold"


@dataclass(frozen=True)
class GateResult:
    rows: tuple[GateRow, ...]
    mismatches: tuple[str, ...] = ()  # compared anyway (--allow-mismatch); the report repeats them

    @property
    def failed(self) -> tuple[GateRow, ...]:
        return tuple(r for r in self.rows if r.failed)

    @property
    def checked(self) -> int:
        return sum(r.threshold is not None for r in self.rows)


def parse_thresholds(items: list[str]) -> dict[str, float]:
    """``metric=0.05`` or ``task/metric=0.05`` (the latter wins for its task); each a finite number >= 0,
    each key once."""
    out: dict[str, float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            if not sep or not key:
                raise ValueError
            limit = float(value)
        except ValueError:
            raise QxError(f"--max-drop '{item}' is not METRIC=NUMBER or TASK/METRIC=NUMBER") from None
        if not math.isfinite(limit):
            raise QxError(f"--max-drop '{item}': a threshold must be a finite number, not '{value.strip()}'")
        if limit < 0:
            raise QxError(f"--max-drop '{item}': a threshold cannot be negative")
        if key in out:
            raise QxError(f"--max-drop '{key}' is given twice ({out[key]:g} and {limit:g})")
        out[key] = limit
    return out


def _limit(thresholds: dict[str, float], task: str, metric: str) -> float | None:
    return thresholds.get(f"{task}/{metric}", thresholds.get(metric))


def _row(cell: Cell, limit: float | None, missing: bool = False) -> GateRow:
    """A row of the report; a threshold that cannot mean anything for this cell is bad input."""
    if limit is None:
        return GateRow(cell, None)
    where = f"{cell.task}/{cell.metric}"
    if cell.higher_is_better is None:
        raise QxError(f"--max-drop {where}: the metric is informational (display.yaml), it has no direction "
                      "to degrade in")
    if missing:
        return GateRow(cell, limit, "is missing in the candidate")
    if not math.isfinite(cell.value):
        return GateRow(cell, limit, f"is {cell.value} in the candidate")
    if cell.baseline is None or not math.isfinite(cell.baseline):
        raise QxError(f"The baseline has no finite value for {where} ({cell.baseline}): its --max-drop "
                      "cannot be checked")
    if cell.not_comparable:  # a guard fired (display.yaml): the threshold cannot be checked, never passed
        return GateRow(cell, limit, f"is not comparable: {cell.not_comparable}")
    return GateRow(cell, limit)


def _from_labels(display: Display, present: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (task, metric) compare_task may add from the logged labels (leaderboard.compare.labels): each ``agreeing``
    metric's twin, and ``agree_fp``."""
    found: set[tuple[str, str]] = set()
    for task, metric in present:
        listed = display.agreeing(task)
        found |= ({(task, AGREE_FP)} if listed else set()) | ({(task, twin(metric))} if metric in listed else set())
    return found


def run_gate(base: Run, cand: Run, thresholds: dict[str, float], display: Display, *,
             allow_mismatch: bool = False) -> GateResult:
    present = {(t, m) for run in (base, cand) for t, r in run.tasks.items() for m in r.metrics}
    derived = _from_labels(display, present) - present
    known = {m for _, m in present | derived} | {f"{t}/{m}" for t, m in present | derived}
    if not thresholds:
        names = sorted({m for _, m in present})
        raise QxError(f"No --max-drop: a gate without a threshold checks nothing. Add one per metric to guard, "
                      f"e.g. --max-drop {names[0] if names else 'METRIC'}=0.05 (metrics: {', '.join(names)})")
    for key in thresholds:
        if key not in known:
            raise unknown("metric in --max-drop", key, known)
    if not base.is_fp:  # a quantized baseline would let a candidate pass by matching its losses
        raise QxError(f"The baseline {base.path} is {base.config}, not full precision (quant=none); the gate compares "
                      f"a candidate with full precision: pass the full-precision run first")
    if not set(base.tasks) & set(cand.tasks):
        raise QxError(f"The baseline ({', '.join(base.tasks) or 'no tasks'}) and the candidate "
                      f"({', '.join(cand.tasks) or 'no tasks'}) share no task")
    found = mismatches(base, cand)
    if found and not allow_mismatch:
        raise QxError(f"Cannot compare: {'; '.join(found)} (--allow-mismatch compares them anyway)")
    rows = []
    for task in sorted(set(base.tasks) | set(cand.tasks)):
        b, c = base.tasks.get(task), cand.tasks.get(task)
        if b is None:  # a task only the candidate ran: nothing to hold a threshold against
            guarded = [m for m in sorted(c.metrics if c else ()) if _limit(thresholds, task, m) is not None]
            if guarded:
                raise QxError(f"The baseline has no value for {task}/{guarded[0]}: its --max-drop cannot be checked")
            continue
        if c is not None:
            rows += [_row(cell, _limit(thresholds, task, cell.metric))
                     for cell in compare_task(cand.model, cand.config, task, c, b, display)]
        for metric in sorted(set(b.metrics) - set(c.metrics if c else ())):
            hib = display.higher_is_better(task, metric, b.higher_is_better.get(metric))
            cell = Cell(cand.model, cand.config, task, metric, math.nan, hib, b.metrics[metric],
                        note="missing in the candidate")
            row = _row(cell, _limit(thresholds, task, metric), missing=True)
            if row.threshold is not None:
                rows.append(row)
    checked = {k for r in rows if r.threshold is not None for k in (r.cell.metric, f"{r.cell.task}/{r.cell.metric}")}
    for key in thresholds.keys() - checked:  # a twin or agree_fp that was not compared: the runs logged no labels
        raise QxError(f"--max-drop {key}: no comparison has it (it comes from the logged labels of both runs: "
                      "cf_flip and nle_sim 4.0 on, with --log_samples)")
    return GateResult(tuple(rows), tuple(found))
