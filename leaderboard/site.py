"""Render the static site: ``index.html``, one page per probe, downloads (JSON, CSV, Markdown).

Self-contained (no network at view time; works from ``file://``) and deterministic (same inputs,
same bytes). Every text from the results goes through Jinja2's autoescaping.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from leaderboard.compare import Cell
from leaderboard.display import Display, fmt
from leaderboard.plots import line_chart
from leaderboard.runs import Run

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
    present = {(c.task, c.metric) for c in cells}
    ordered = [(t, m) for t, ms in display.metrics.items() for m in ms if (t, m) in present]
    return ordered + sorted(present - set(ordered))


def _scales(cells: list[Cell]) -> dict[tuple[str, str], float]:
    scale: dict[tuple[str, str], float] = defaultdict(float)
    for c in cells:
        if c.degradation is not None and math.isfinite(c.degradation):
            scale[(c.task, c.metric)] = max(scale[(c.task, c.metric)], abs(c.degradation))
    return scale


def view(cell: Cell | None, scale: float) -> View:
    if cell is None:
        return View("", "", "", "not run", "")
    if cell.diff is None:  # full precision, no baseline, or a value that is not a number: shown, not compared
        return View(fmt(cell.value), repr(cell.value), "", cell.note or "full precision", "")
    deg = cell.degradation  # None for an informational metric: no colour
    alpha = 0.0 if not deg or not scale or not math.isfinite(deg) else min(1.0, abs(deg) / scale)
    alpha *= 0.75 if cell.significant else 0.25
    colour = "214,39,40" if (deg or 0) > 0 else "44,160,44"
    ci = f" [{fmt(cell.low, True)}, {fmt(cell.high, True)}]" if cell.low is not None else ""
    title = (f"value {fmt(cell.value)}; full precision {fmt(cell.baseline)}; difference {fmt(cell.diff, True)}"
             f"{ci or ' (no CI: ' + cell.note + ')'}; n={cell.n}")
    return View(fmt(cell.diff, True), repr(cell.diff), f"background: rgba({colour},{alpha:.2f})" if alpha else "",
                title, "*" if cell.significant else "")


def _rows(runs: list[Run], cells: list[Cell], columns: list[tuple[str, str]]) -> list[dict]:
    by_key = {(c.model, c.config, c.task, c.metric): c for c in cells}
    scales = _scales(cells)
    rows = []
    for run in runs:
        rows.append({"model": run.model, "config": run.config, "bits": run.bits or "",
                     "views": [view(by_key.get((run.model, run.config, t, m)), scales.get((t, m), 0.0))
                               for t, m in columns]})
    return rows


def _bits_series(runs: list[Run], task: str, metric: str) -> tuple[dict[str, list[tuple[float, float]]], float]:
    """Metric vs bits, one series per (model, backend family), and the x where full precision is drawn in
    each: right of the widest quantized width, labelled "FP" (never a bit width). A quantized run that
    does not say its bits cannot be placed and is left out of the chart (the table shows it)."""
    quantized = [r for r in runs if r.config != "fp" and r.bits and task in r.tasks and metric in r.tasks[task].metrics]
    fp_x = float(max([16, *(2 * r.bits for r in quantized)]))
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    fp = {r.model: r.tasks[task].metrics.get(metric) for r in runs if r.config == "fp" and task in r.tasks}
    for run in quantized:
        key = f"{run.model} {run.quant.split('-')[0]}"
        if fp.get(run.model) is not None and not series[key]:
            series[key].append((fp_x, fp[run.model]))
        series[key].append((float(run.bits), run.tasks[task].metrics[metric]))
    return dict(sorted(series.items())), fp_x


def _curve_series(runs: list[Run], task: str) -> dict[str, list[tuple[float, float]]]:
    series = {}
    for run in runs:
        curves = run.tasks[task].curves if task in run.tasks else None
        if not curves:
            continue
        length = min(len(c) for c in curves.values())
        mean = [sum(c[i] for c in curves.values()) / len(curves) for i in range(length)]
        series[f"{run.model} {run.config}"] = [(float(i + 1), v) for i, v in enumerate(mean)]
    return series


def downloads(cells: list[Cell]) -> dict[str, str]:
    records = [c.as_dict() for c in cells]
    fields = list(records[0]) if records else list(Cell.__dataclass_fields__)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    md = ["| model | config | task | metric | value | full precision | difference | 95% CI | n |",
          "|---|---|---|---|---:|---:|---:|---|---:|"]
    for c in cells:
        ci = f"[{fmt(c.low, True)}, {fmt(c.high, True)}]" if c.low is not None else "–"
        text = [c.model, c.config, c.task, c.metric]
        text = [t.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;") for t in text]
        numbers = [fmt(c.value), fmt(c.baseline), fmt(c.diff, True), ci, str(c.n)]
        md.append(f"| {' | '.join(text + numbers)} |")
    return {"leaderboard.json": json.dumps(records, indent=1, sort_keys=True, allow_nan=True) + "\n",
            "leaderboard.csv": buf.getvalue(), "leaderboard.md": "\n".join(md) + "\n"}


def build_site(runs: list[Run], cells: list[Cell], notes: list[str], display: Display, out: Path) -> list[Path]:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      keep_trailing_newline=True)
    out.mkdir(parents=True, exist_ok=True)
    columns = _columns(cells, display)
    tasks = list(dict.fromkeys(t for t, _ in columns))
    pages = {t: f"probe_{t}.html" for t in tasks}
    common = {"display": display, "tasks": tasks, "pages": pages, "notes": notes}
    written = []
    index = env.get_template("index.html").render(
        **common, columns=columns, rows=_rows(runs, cells, columns), models=sorted({r.model for r in runs}))
    written.append(_write(out / "index.html", index))
    for task in tasks:
        task_columns = [(t, m) for t, m in columns if t == task]
        charts = []
        for _, m in task_columns:
            series, fp_x = _bits_series(runs, task, m)
            charts.append(line_chart(f"{display.metric_name(task, m)} vs bits", series, "bits (FP = full precision)",
                                     display.metric_name(task, m), {fp_x: "FP"}))
        curve = display.curves.get(task)
        if curve:
            charts.insert(0, line_chart(curve["name"], _curve_series(runs, task), curve["x"], curve["y"]))
        page = env.get_template("probe.html").render(**common, task=task, columns=task_columns,
                                                     rows=_rows(runs, [c for c in cells if c.task == task],
                                                                task_columns), charts=charts)
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
