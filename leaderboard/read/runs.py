"""Read every run under a directory: one :class:`~leaderboard.read.results.Run` per (model, config), its tasks
gathered from every results file of that pair (:func:`read_runs`), and the notes of the reading, the same note of
many runs grouped into one line (:func:`group_notes`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from leaderboard.read.results import Run, TaskResult, find_results, read_run
from qxbench.errors import QxError


def _when(run: Run) -> str:
    if run.finished is None:
        return "at an unknown time"
    return datetime.fromtimestamp(run.finished, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def merge_runs(runs: list[Run]) -> tuple[list[Run], list[str]]:
    """One run per (model, config), its tasks gathered from every results file of that pair (tasks
    are often run by separate commands). Where two files hold the same task, the one that finished
    last wins and a note says which (a run whose date is not a time counts as the oldest: it never wins).
    Runs with no task at all are left out with a note."""
    notes = [f"{run.path}: no task results: left out" for run in runs if not run.tasks]
    groups: dict[tuple[str, str], list[Run]] = {}
    def age(r: Run) -> tuple:  # undated first: it never wins
        return r.finished is not None, r.finished or 0.0, str(r.path)

    for run in sorted((r for r in runs if r.tasks), key=age):
        groups.setdefault((run.model, run.config), []).append(run)
    merged = []
    for (model, config), group in groups.items():
        tasks: dict[str, TaskResult] = {}
        source: dict[str, Run] = {}
        for run in group:  # oldest first: a task in a later file replaces the earlier one
            for task, result in run.tasks.items():
                if task in source:
                    old = source[task]
                    notes.append(f"{model} {config}: {task} from {run.path.name} (finished {_when(run)}), "
                                 f"not from the older {old.path.name} (finished {_when(old)})")
                tasks[task], source[task] = result, run
        merged.append(replace(group[-1], tasks=dict(sorted(tasks.items())),
                              problems=tuple(p for r in group for p in r.problems)))
    return sorted(merged, key=lambda r: (r.model, not r.is_fp, r.config)), notes


def read_runs(target: Path, curve_keys: dict[str, str] | None = None, *,
              skip_invalid: bool = False) -> tuple[list[Run], list[str]]:
    """Every run under ``target``, one per (model, config) (see :func:`merge_runs`), and the notes
    to show: values left out or not numbers, replaced tasks, empty runs. A file that cannot be read is
    its one-line error, or with ``skip_invalid`` a note and the other files."""
    files = find_results(target)
    runs, skipped = [], []
    for path in files:
        try:
            runs.append(read_run(path, curve_keys))
        except QxError as err:
            if not skip_invalid:
                raise
            skipped.append(f"skipped (--skip-invalid): {err}")
    merged, notes = merge_runs(runs)
    if not merged:
        raise QxError(f"None of the {len(files)} results files under {target} holds a task result")
    return merged, skipped + [p for r in runs for p in r.problems] + notes


_NOTE = re.compile(r"^(?P<where>[^:]+): (?P<what>\S+ is \S+?)(?P<tail>[:,] .*)$")


def group_notes(notes: list[str], shown: int = 3) -> list[str]:
    """Notes that say the same of the same task/metric in several runs ("X: nle_sim/unfaithful is nan:
    shown as – and not compared") become one line with the count and the first ``shown`` runs; the
    others stay as they are, in their order."""
    groups: dict[tuple[str, str], list[str]] = {}
    order: list[tuple[str, str] | str] = []
    for note in notes:
        m = _NOTE.match(note)
        if m is None:
            order.append(note)
            continue
        key = (m["what"], m["tail"])
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(m["where"])
    out = []
    for item in order:
        if isinstance(item, str):
            out.append(item)
            continue
        where = groups[item]
        if len(where) == 1:
            out.append(f"{where[0]}: {item[0]}{item[1]}")
        else:
            more = f", and {len(where) - shown} more" if len(where) > shown else ""
            out.append(f"{item[0]} in {len(where)} runs ({', '.join(where[:shown])}{more}){item[1]}")
    return out
