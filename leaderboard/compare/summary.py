"""The index's summary: one row per model x config; per probe, which metrics are marked worse (q <= 0.05),
better or not comparable, its headline metric (display.yaml) and its document count. The full metric
tables are on the probe pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from leaderboard.compare.cell import Cell
from leaderboard.display import Display
from leaderboard.read.results import Run


@dataclass(frozen=True)
class ProbeSummary:
    worse: tuple[str, ...]  # metrics (with a direction) marked worse: BH q <= 0.05 (Cell.significant)
    better: tuple[str, ...]
    not_comparable: tuple[str, ...]  # a validity guard fired: neither better nor worse
    headline: Cell | None  # the first of the probe's headlines this run has; None: no headline, or it has none
    n: int | None  # documents evaluated (lm-eval's effective n-samples)
    compared: bool  # some metric was compared with full precision (else the row shows values only)


@dataclass(frozen=True)
class RowSummary:
    model: str
    config: str
    limit: str  # lm-eval --limit of the row's tasks: "all" without one; different ones joined by ", "
    probes: tuple[ProbeSummary | None, ...]  # in the index's task order; None where the task was not run


def limit_text(limits: list[float | None]) -> str:
    """``[None] -> "all"``, ``[50.0] -> "50"``, ``[0.5, None] -> "0.5, all"`` (each once, in order); "" for none."""
    texts = ["all" if x is None else f"{x:g}" for x in limits]
    return ", ".join(dict.fromkeys(texts))


def probe_summary(cells: list[Cell], headline: str | Sequence[str] | None, n: int | None) -> ProbeSummary:
    """``cells``: one run's cells of one task; ``headline``: its headline metric, or the metrics tried in order
    (display.yaml's list: the first one the run has)."""
    def having(verdict: str) -> tuple[str, ...]:
        return tuple(c.metric for c in cells if c.verdict == verdict)

    by_metric = {c.metric: c for c in cells}
    names = (headline,) if isinstance(headline, str) else tuple(headline or ())
    head = next((by_metric[m] for m in names if m in by_metric), None)
    return ProbeSummary(having("worse"), having("better"), having("not comparable"), head, n,
                        any(c.diff is not None for c in cells))


def summarize(runs: list[Run], cells: list[Cell], tasks: list[str], display: Display) -> list[RowSummary]:
    """One row per run (model x config), in the order of ``runs``."""
    by_run: dict[tuple[str, str, str], list[Cell]] = {}
    for c in cells:
        by_run.setdefault((c.model, c.config, c.task), []).append(c)
    rows = []
    for run in runs:
        probes = tuple(probe_summary(by_run.get((run.model, run.config, t), []), display.headlines(t),
                                     run.tasks[t].n) if t in run.tasks else None for t in tasks)
        rows.append(RowSummary(run.model, run.config, limit_text([run.tasks[t].limit for t in run.tasks]), probes))
    return rows
