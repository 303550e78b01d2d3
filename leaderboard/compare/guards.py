"""Validity guards: when what a metric depends on collapses, its difference to full precision is
shown as *not comparable*, with the reason, never as better or worse (and a gate fails on it).

Declared in ``display.yaml`` (``guards:`` per task family, ``chance:`` per task; each entry read into a
:class:`~leaderboard.display.Guard`); applied by :func:`leaderboard.compare.pairing.compare_task` to one
task's cells of one run against full precision. Each rule is a pure function returning the reason ('' when
the comparison stands):

- coverage (every metric, :func:`coverage_reason`): fewer than half of the documents on which full
  precision has a defined value still have one in both runs (a twin ``<metric>@agree``: and the same label);
- ``collapse: chance_or_zero`` (:func:`collapse_reason`): the guard metric (accuracy) falls to 0, or to
  the task's chance level or below (from above it), or, where no chance level is declared, below half
  of full precision;
- ``rises_by: X`` (:func:`rise_reason`): the guard metric (``empty_rate``) rises by more than X;
- ``at_least: X`` with ``affects: [metrics]`` (:func:`majority_reason`): the guard metric
  (``pred_majority``, the share of the most-predicted label) is X or more in the config, or in full
  precision: a classifier that predicts one label for nearly every document, whose flips and
  insertion tests say little. Only the ``affects`` metrics are not comparable; full precision's own
  cells keep their values, with the reason in their note (:func:`note_guards`).

A guard's own metric is compared normally; every other metric of the task (an ``at_least`` guard:
its ``affects``) is not comparable when a guard fires, or when it cannot be checked (its metric is
missing or not comparable in a run that the other run reports it for). A twin over the label-agreeing
documents (:func:`leaderboard.twins.twin`) is guarded as its metric is.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import replace

from leaderboard.compare.cell import Cell
from leaderboard.display import Guard
from leaderboard.fmt import fmt
from leaderboard.twins import twin_of


def _g(x: float) -> str:
    return fmt(x)


def coverage_reason(n_paired: int, n_baseline: int, agreeing: bool = False) -> str:
    """Not comparable when the documents defined in both runs (``agreeing``, a twin: and whose label equals
    full precision's; a rewrite's target too, :func:`leaderboard.compare.labels.agreeing_docs`) are fewer
    than half of those full precision defines. '' when full precision defines it on no document (a
    corpus-level metric: nothing was lost)."""
    if n_baseline > 0 and 2 * n_paired < n_baseline:
        labelled = " with full precision's label (a rewrite's: and target)" if agreeing else ""
        return f"defined{labelled} on {n_paired} of the {n_baseline} documents full precision has a value for"
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


def majority_reason(metric: str, value: float, at_least: float, whose: str = "") -> str:
    """``value`` (the share of the most-predicted label) is ``at_least`` or more: ``whose`` (''
    for the config itself, "full precision ") predicts one label for nearly every document. '' otherwise."""
    if value >= at_least:
        return f"{whose}predicts one label for {100 * value:.3g} % of documents ({metric} {_g(value)} >= {at_least:g})"
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
    if guard.at_least is not None:  # the config's own value and full precision's, each on its own
        return "; ".join(filter(None, (majority_reason(guard.metric, cell.value, guard.at_least),
                                       majority_reason(guard.metric, cell.baseline, guard.at_least,
                                                       "full precision "))))
    return rise_reason(guard.metric, cell.value, cell.baseline, guard.rises_by or 0.0)


def apply_guards(cells: list[Cell], guards: tuple[Guard, ...], chance: float | None,
                 baseline_has: Collection[str]) -> list[Cell]:
    """One task's cells of one run compared with full precision (which reports ``baseline_has``), with
    ``not_comparable`` set where a rule fires. Cells that were not compared are returned unchanged."""
    def covered(c: Cell) -> str:
        return coverage_reason(c.n, c.n_baseline, twin_of(c.metric) is not None)

    cells = [replace(c, not_comparable=covered(c)) if c.diff is not None and c.paired and covered(c) else c
             for c in cells]
    by_metric = {c.metric: c for c in cells}
    own = {g.metric for g in guards}
    reasons: dict[str | None, list[str]] = {}  # metric it makes not comparable (None: every other) -> reasons
    for g in guards:
        if reason := _guard_reason(g, by_metric.get(g.metric), baseline_has, chance):
            for metric in g.affects or (None,):
                reasons.setdefault(metric, []).append(reason)
    if not reasons:
        return cells

    def why(metric: str) -> list[str]:
        metric = twin_of(metric) or metric  # a twin: guarded as its metric
        return (reasons.get(None, []) if metric not in own else []) + reasons.get(metric, [])

    return [replace(c, not_comparable="; ".join(filter(None, [c.not_comparable, *why(c.metric)])))
            if c.diff is not None and why(c.metric) else c for c in cells]


def note_guards(cells: list[Cell], guards: tuple[Guard, ...]) -> list[Cell]:
    """One task's cells of a run shown without a difference (full precision, or a config without a
    full-precision run): an ``at_least`` guard that its own value fires adds its reason to the note of the
    metrics it affects (there is no difference to mark not comparable; the value is shown)."""
    by_metric = {c.metric: c for c in cells}
    notes: dict[str, list[str]] = {}
    for g in guards:
        cell = by_metric.get(g.metric)
        if g.at_least is None or cell is None or not math.isfinite(cell.value):
            continue
        if reason := majority_reason(g.metric, cell.value, g.at_least):
            for metric in g.affects:
                notes.setdefault(metric, []).append(reason)
    return [replace(c, note="; ".join(filter(None, [c.note, *notes[c.metric]]))) if c.metric in notes else c
            for c in cells]
