"""Render the static site: ``index.html`` (one summary row per model x config, see
:mod:`leaderboard.compare.summary`), one page per probe (its metric table and charts), downloads (JSON, CSV,
Markdown: :mod:`leaderboard.render.text`).

Self-contained (no network at view time; works from ``file://``) and deterministic (same inputs,
same bytes). Every text from the results goes through Jinja2's autoescaping.
"""

from __future__ import annotations

import math
import shutil
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from leaderboard.compare.cell import Cell
from leaderboard.compare.pairing import filtered_out, tested
from leaderboard.compare.summary import ProbeSummary, limit_text, summarize
from leaderboard.display import Display
from leaderboard.fmt import TINY_NOTE, fmt, is_tiny
from leaderboard.read.human import find_files, read_blocks
from leaderboard.read.results import Run
from leaderboard.render.charts import CAPTION, probe_charts
from leaderboard.render.text import NOISE_MARK, diff_text, downloads, interval_text, tested_text
from leaderboard.twins import twin, twin_of

HERE = Path(__file__).parent
STATIC = ("style.css", "sort.js")


@dataclass(frozen=True)
class View:
    """One table cell as shown: text, sort key, colour, tooltip."""

    text: str
    sort: str
    style: str
    title: str
    mark: str


def _columns(cells: list[Cell], display: Display) -> list[tuple[str, str]]:
    present = {(c.task, c.metric) for c in cells}  # a twin (label = FP's) right after its metric
    ordered = [(t, n) for t, ms in display.metrics.items() for m in ms for n in (m, twin(m)) if (t, n) in present]
    return ordered + sorted(present - set(ordered))


def _scales(cells: list[Cell]) -> dict[tuple[str, str], float]:
    scale: dict[tuple[str, str], float] = defaultdict(float)
    for c in cells:
        if c.degradation is not None and math.isfinite(c.degradation):
            scale[(c.task, c.metric)] = max(scale[(c.task, c.metric)], abs(c.degradation))
    return scale


def _numbers(cell: Cell) -> str:
    """Value, full precision, difference and on which documents each was computed, and the test."""
    ci = f" {interval_text(cell)}" if cell.low is not None else ""
    rel = " (relative to full precision)" if cell.relative_diff else ""
    tiny = f" ({TINY_NOTE})" if any(is_tiny(x) for x in (cell.value, cell.baseline, cell.diff)) else ""
    if cell.paired:
        which = (f"the same {cell.n} documents" if cell.n == cell.n_value == cell.n_baseline else
                 f"the {cell.n} documents both define (the candidate defines {cell.n_value}, full precision "
                 f"{cell.n_baseline})")
        if twin_of(cell.metric):  # over the label-agreeing documents only
            which = (f"the {cell.n} documents whose label (a rewrite's: and target) equals full precision's and "
                     f"both define (of the {cell.n_value} the candidate defines, full precision {cell.n_baseline})")
        return (f"value {fmt(cell.value)} and full precision {fmt(cell.baseline)} over {which}; difference "
                f"{diff_text(cell)}{rel}{ci}{tested_text(cell)}{tiny}")
    return (f"value {fmt(cell.value)} on the candidate's {cell.n_value} documents, full precision "
            f"{fmt(cell.baseline)} on its {cell.n_baseline} (not paired: {cell.note}); "
            f"difference {diff_text(cell)}{rel}{tiny}")


def view(cell: Cell | None, scale: float) -> View:
    if cell is None:
        return View("", "", "", "not run", "")
    if cell.diff is None and cell.not_comparable:  # refused (other documents, versions ...): its value in the title
        return View("≠", "", "", f"not comparable: {cell.not_comparable}; value {fmt(cell.value)} on "
                    f"{cell.n_value} documents", "")
    if cell.diff is None:  # full precision, no baseline, or a value that is not a number: shown, not compared
        tiny = f" ({TINY_NOTE})" if is_tiny(cell.value) else ""
        return View(fmt(cell.value), repr(cell.value), "",
                    f"{cell.note or 'full precision'}; on {cell.n_value} documents{tiny}", "")
    if cell.not_comparable:  # never better or worse: no colour, no number to read a direction into
        return View("≠", "", "", f"not comparable: {cell.not_comparable}; {_numbers(cell)}", "")
    deg = cell.degradation  # None for an informational metric: no colour
    alpha = 0.0 if not deg or not scale or not math.isfinite(deg) else min(1.0, abs(deg) / scale)
    alpha *= 0.75 if cell.significant else 0.25
    colour = "214,39,40" if (deg or 0) > 0 else "44,160,44"
    fewer = f" (n={cell.n})" if cell.paired and cell.n < max(cell.n_value, cell.n_baseline) else ""
    title = f"{cell.note}; {_numbers(cell)}" if cell.within_noise else _numbers(cell)  # the note: N of M labels
    return View(diff_text(cell) + fewer, repr(cell.diff),
                f"background: rgba({colour},{alpha:.2f})" if alpha else "", title,
                NOISE_MARK if cell.within_noise else "*" if cell.significant else "")


def _rows(runs: list[Run], cells: list[Cell], columns: list[tuple[str, str]]) -> list[dict]:
    """The rows of a probe page's table: one per run that ran the probe, with its --limit and document count."""
    by_key = {(c.model, c.config, c.task, c.metric): c for c in cells}
    scales = _scales(cells)
    task = columns[0][0] if columns else ""
    rows = []
    for run in runs:
        result = run.tasks.get(task)
        if result is None:  # another model's or config's run of other probes: no empty row
            continue
        rows.append({"model": run.model, "config": run.config, "bits": run.bits or "",
                     "limit": limit_text([result.limit]), "n": result.n,
                     "views": [view(by_key.get((run.model, run.config, t, m)), scales.get((t, m), 0.0))
                               for t, m in columns]})
    return rows


def _probe_view(summary: ProbeSummary | None, scales: dict[tuple[str, str], float], task: str, display: Display,
                mixed: bool = False) -> dict | None:
    """A probe's cell on the index: its headline (coloured like the probe page's cell) and its counts; in a
    ``mixed`` column (rows with different headline metrics: display.yaml's list) the title names its metric."""
    if summary is None:
        return None
    names = {k: ", ".join(display.metric_name(task, m) for m in getattr(summary, k))
             for k in ("worse", "better", "not_comparable")}
    head = summary.headline
    shown = view(head, scales.get((task, head.metric), 0.0)) if head else View("–", "", "", "no headline metric", "")
    if head and mixed:
        shown = replace(shown, title=f"{display.metric_name(task, head.metric)}: {shown.title}")
    return {"head": shown,
            "compared": summary.compared, "n": "" if summary.n is None else summary.n,
            **{k: len(getattr(summary, k)) for k in names}, "names": names}


def headlines_shown(display: Display, task: str, summaries: list[ProbeSummary | None]) -> tuple[str, ...]:
    """The headline metrics an index column shows, in display.yaml's order: those its rows have (a list
    headline: the first each run has), else the first declared; () without a headline."""
    used = {s.headline.metric for s in summaries if s is not None and s.headline is not None}
    declared = display.headlines(task)
    return tuple(m for m in declared if m in used) or declared[:1]


def _not_comparable(cells: list[Cell], display: Display) -> list[str]:
    """One line per run and reason: which metrics of a probe page are not comparable, and why."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for c in cells:
        if c.not_comparable:
            groups.setdefault((c.model, c.config, c.not_comparable), []).append(display.metric_name(c.task, c.metric))
    return [f"{model} {config}: {', '.join(metrics)}: {why}" for (model, config, why), metrics in groups.items()]



def build_site(runs: list[Run], cells: list[Cell], notes: list[str], display: Display, out: Path) -> list[Path]:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      keep_trailing_newline=True)
    out.mkdir(parents=True, exist_ok=True)
    columns = _columns(cells, display)
    tasks = list(dict.fromkeys(t for t, _ in columns))
    pages = {t: f"probe_{t}.html" for t in tasks}
    common = {"display": display, "tasks": tasks, "pages": pages, "notes": notes,
              "noise_marked": any(c.within_noise for c in cells), "twins": any(twin_of(c.metric) for c in cells)}
    scales = _scales(cells)
    human = read_blocks(find_files(runs))  # `qxbench study collect` results, where there are any
    summaries = summarize(runs, cells, tasks, display)
    heads = {t: headlines_shown(display, t, [r.probes[i] for r in summaries]) for i, t in enumerate(tasks)}
    rows = [{"model": r.model, "config": r.config, "limit": r.limit,
             "probes": [_probe_view(p, scales, t, display, len(heads[t]) > 1)
                        for t, p in zip(tasks, r.probes, strict=True)]}
            for r in summaries]
    written = [_write(out / "index.html", env.get_template("index.html").render(
        **common, rows=rows, headlines=heads, models=sorted({r.model for r in runs}), n_tested=sum(map(tested, cells)),
        n_untestable=sum(map(filtered_out, cells)),
        provenance=sorted({(r.model, r.full_precision) for r in runs if r.full_precision})))]
    for task in tasks:
        task_columns = [(t, m) for t, m in columns if t == task]
        task_cells = [c for c in cells if c.task == task]
        page = env.get_template("probe.html").render(
            **common, task=task, columns=task_columns, rows=_rows(runs, task_cells, task_columns),
            charts=probe_charts(runs, cells, task, [m for _, m in task_columns], display), caption=CAPTION,
            not_comparable=_not_comparable(task_cells, display), human=human.get(task, []), fmt=fmt)
        written.append(_write(out / pages[task], page))
    for name, text in downloads(cells).items():
        written.append(_write(out / name, text))
    for name in STATIC:
        shutil.copyfile(HERE / "templates" / name, out / name)
        written.append(out / name)
    return written


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
