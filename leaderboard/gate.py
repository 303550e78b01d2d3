"""The regression gate: every thresholded metric's degradation against full precision must stay
within its threshold. Exit 0 = pass, 1 = a metric degraded too much, 2 = bad input."""

from __future__ import annotations

from dataclasses import dataclass

from leaderboard.compare import Cell, compare_task, require_comparable
from leaderboard.display import Display
from leaderboard.runs import Run
from qxbench.errors import QxError, unknown


@dataclass(frozen=True)
class GateRow:
    cell: Cell
    threshold: float | None

    @property
    def failed(self) -> bool:
        d = self.cell.degradation
        return self.threshold is not None and d is not None and d > self.threshold


def parse_thresholds(items: list[str]) -> dict[str, float]:
    """``metric=0.05`` or ``task/metric=0.05`` (the latter wins for its task)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            if not sep or not key:
                raise ValueError
            out[key] = float(value)
        except ValueError:
            raise QxError(f"--max-drop '{item}' is not METRIC=NUMBER or TASK/METRIC=NUMBER") from None
        if out[key] < 0:
            raise QxError(f"--max-drop '{item}': a threshold cannot be negative")
    return out


def run_gate(base: Run, cand: Run, thresholds: dict[str, float], display: Display) -> list[GateRow]:
    require_comparable(base, cand)
    rows = []
    for task in sorted(set(base.tasks) & set(cand.tasks)):
        for cell in compare_task(cand.model, cand.config, task, cand.tasks[task], base.tasks[task], display):
            limit = thresholds.get(f"{task}/{cell.metric}", thresholds.get(cell.metric))
            rows.append(GateRow(cell, limit))
    known = {r.cell.metric for r in rows} | {f"{r.cell.task}/{r.cell.metric}" for r in rows}
    for key in thresholds:
        if key not in known:
            raise unknown("metric in --max-drop", key, known)
    return rows
