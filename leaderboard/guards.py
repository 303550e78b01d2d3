"""Validity guards: when what a metric depends on collapses, its difference to full precision is
shown as *not comparable*, with the reason, never as better or worse (and a gate fails on it).

Declared in ``display.yaml`` (``guards:`` per task family, ``chance:`` per task); applied by
:func:`leaderboard.compare.compare_task` to one task's cells of one run against full precision.
Each rule is a pure function returning the reason ('' when the comparison stands):

- coverage (every metric, :func:`coverage_reason`): fewer than half of the documents on which full
  precision has a defined value still have one in both runs;
- ``collapse: chance_or_zero`` (:func:`collapse_reason`): the guard metric (accuracy) falls to 0, or to
  the task's chance level or below (from above it), or, where no chance level is declared, below half
  of full precision;
- ``rises_by: X`` (:func:`rise_reason`): the guard metric (``empty_rate``) rises by more than X.

A guard's own metric is compared normally; every other metric of the task is not comparable when
a guard fires, or when it cannot be checked (its metric is missing or not comparable in a run that
the other run reports it for).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from leaderboard.display import fmt
from qxbench.errors import QxError, unknown

if TYPE_CHECKING:
    from leaderboard.compare import Cell

COLLAPSES = ("chance_or_zero",)
KEYS = ("metric", "collapse", "rises_by")


@dataclass(frozen=True)
class Guard:
    metric: str  # what the task's other metrics depend on
    collapse: str = ""  # "chance_or_zero" or ""
    rises_by: float | None = None  # the largest rise that still leaves the other metrics comparable


def parse_guard(entry: object, where: str) -> Guard:
    """One ``guards:`` entry of ``display.yaml``: ``{metric: acc, collapse: chance_or_zero}`` or
    ``{metric: empty_rate, rises_by: 0.1}``."""
    if not isinstance(entry, dict) or not isinstance(entry.get("metric"), str):
        raise QxError(f"display.yaml guards of {where}: {entry!r} is not {{metric: NAME, collapse: chance_or_zero}} "
                      "or {metric: NAME, rises_by: NUMBER}")
    for key in entry:
        if key not in KEYS:
            raise unknown(f"key in display.yaml guards of {where}", key, KEYS)
    collapse, rises = entry.get("collapse", ""), entry.get("rises_by")
    if collapse and collapse not in COLLAPSES:
        raise unknown(f"collapse rule in display.yaml guards of {where}", collapse, COLLAPSES)
    if rises is not None and (isinstance(rises, bool) or not isinstance(rises, int | float)
                              or not math.isfinite(rises) or rises < 0):
        raise QxError(f"display.yaml guards of {where}: rises_by must be a finite number >= 0, not {rises!r}")
    if bool(collapse) == (rises is not None):
        raise QxError(f"display.yaml guards of {where}: the guard of {entry['metric']} needs exactly one of "
                      "collapse: chance_or_zero and rises_by: NUMBER")
    return Guard(entry["metric"], collapse, None if rises is None else float(rises))


def _g(x: float) -> str:
    return fmt(x)


def coverage_reason(n_paired: int, n_baseline: int) -> str:
    """Not comparable when the documents defined in both runs are fewer than half of those full precision
    defines. '' when full precision defines it on no document (a corpus-level metric: nothing was lost)."""
    if n_baseline > 0 and 2 * n_paired < n_baseline:
        return f"defined on {n_paired} of the {n_baseline} documents full precision has a value for"
    return ""


def collapse_reason(metric: str, value: float, baseline: float, chance: float | None) -> str:
    """``value`` fell to 0, to ``chance`` or below (full precision above it) or, with no chance level,
    below half of full precision. '' otherwise, and when full precision is itself at 0."""
    if baseline > 0 and value <= 0:
        return f"{metric} fell to 0 (full precision {_g(baseline)})"
    if chance is not None:
        if value <= chance < baseline:
            return f"{metric} fell to chance ({_g(value)} <= {_g(chance)}; full precision {_g(baseline)})"
    elif value < baseline / 2:
        return (f"{metric} fell below half of full precision ({_g(value)} vs {_g(baseline)}; "
                "no chance level declared)")
    return ""


def rise_reason(metric: str, value: float, baseline: float, by: float) -> str:
    """``value`` rose by more than ``by`` over ``baseline``; '' otherwise."""
    if value - baseline > by:
        return f"{metric} rose by more than {by:g} ({_g(baseline)} -> {_g(value)})"
    return ""


def _guard_reason(guard: Guard, cell: Cell | None, baseline_has: Collection[str], chance: float | None) -> str:
    if cell is None:  # the candidate lacks it
        return f"{guard.metric} is missing in the candidate: its guard cannot be checked" \
            if guard.metric in baseline_has else ""
    if cell.diff is None or cell.baseline is None or cell.not_comparable:
        why = cell.not_comparable or cell.note or "not compared"
        return f"{guard.metric} is not comparable ({why}): its guard cannot be checked"
    if guard.collapse:
        return collapse_reason(guard.metric, cell.value, cell.baseline, chance)
    return rise_reason(guard.metric, cell.value, cell.baseline, guard.rises_by or 0.0)


def apply_guards(cells: list[Cell], guards: tuple[Guard, ...], chance: float | None,
                 baseline_has: Collection[str]) -> list[Cell]:
    """One task's cells of one run compared with full precision (which reports ``baseline_has``), with
    ``not_comparable`` set where a rule fires. Cells that were not compared are returned unchanged."""
    cells = [replace(c, not_comparable=coverage_reason(c.n, c.n_baseline))
             if c.diff is not None and c.paired and coverage_reason(c.n, c.n_baseline) else c for c in cells]
    by_metric = {c.metric: c for c in cells}
    reasons = [r for g in guards if (r := _guard_reason(g, by_metric.get(g.metric), baseline_has, chance))]
    if not reasons:
        return cells
    own = {g.metric for g in guards}
    return [replace(c, not_comparable="; ".join(filter(None, [c.not_comparable, *reasons])))
            if c.diff is not None and c.metric not in own else c for c in cells]
