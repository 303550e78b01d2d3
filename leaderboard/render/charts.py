"""The charts of a probe's page: its per-layer curve (display.yaml ``curves``) and every metric against bits."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from leaderboard.compare.cell import Cell
from leaderboard.display import Display
from leaderboard.read.results import Run
from leaderboard.render.plots import Point, line_chart

CAPTION = ("Metric-vs-bits charts: one line per model and quantizer, from full precision (FP, drawn right of "
           "the widest bit width) to each of its bit widths. Error bars: the 95 % paired-bootstrap interval of "
           "the difference to full precision, drawn around the quantized value (full precision + interval); none "
           "without per-sample logs, and none on FP. Open circles: not comparable (hover a point for the reason). "
           "Per-layer curves: the mean over documents, one line per model and config; no intervals.")


def short_names(models: list[str]) -> dict[str, str]:
    """model -> the last component of its path or Hub id (``HuggingFaceTB/SmolLM2-135M`` -> ``SmolLM2-135M``),
    for chart legends; the whole name where two models would share one, or where nothing is left."""
    short = {m: m.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or m for m in models}
    taken = [short[m] for m in set(models)]
    return {m: s if taken.count(s) == 1 else m for m, s in short.items()}


def _line(run: Run) -> str:
    """What a line of a metric-vs-bits chart is: one quantizer (and group size) of one model, across bits."""
    return run.quant + (f" g{run.group_size}" if run.group_size else "")


def _point(cell: Cell, bits: float) -> Point:
    bar = cell.low is not None and cell.high is not None and cell.baseline is not None
    return Point(bits, cell.value, cell.baseline + cell.low if bar else None,  # type: ignore[operator]
                 cell.baseline + cell.high if bar else None,  # type: ignore[operator]
                 f"not comparable: {cell.not_comparable}" if cell.not_comparable else "", bool(cell.not_comparable))


def bits_series(runs: list[Run], cells: list[Cell], task: str, metric: str) -> tuple[dict[str, list[Point]], float]:
    """Metric vs bits, one series per (model, quantizer, group size), labelled with the model's short name,
    and the x where full precision is drawn: right of the widest quantized width, labelled "FP" (never a
    bit width). A quantized run that does not say its bits cannot be placed and is left out (the table
    shows it)."""
    by_run = {(c.model, c.config): c for c in cells if (c.task, c.metric) == (task, metric)}
    quantized = [r for r in runs if not r.is_fp and r.bits and (r.model, r.config) in by_run]
    fp_x = float(max([16, *(2 * r.bits for r in quantized)]))
    short = short_names(sorted({r.model for r in quantized}))
    series: dict[str, list[Point]] = defaultdict(list)
    for run in quantized:
        key = f"{short[run.model]} {_line(run)}"
        fp = by_run.get((run.model, replace(run, quant="none").config))  # full precision in the run's dtype
        if fp is not None and not series[key]:
            series[key].append(Point(fp_x, fp.value, note="full precision"))
        series[key].append(_point(by_run[(run.model, run.config)], float(run.bits or 0)))
    return dict(sorted(series.items())), fp_x


def curve_series(runs: list[Run], task: str) -> dict[str, list[Point]]:
    """The per-layer curve of every run that logged one, averaged over documents."""
    short = short_names(sorted({r.model for r in runs}))
    series = {}
    for run in runs:
        curves = run.tasks[task].curves if task in run.tasks else None
        if not curves:
            continue
        length = min(len(c) for c in curves.values())
        mean = [sum(c[i] for c in curves.values()) / len(curves) for i in range(length)]
        config = "FP" if run.config == "fp" else run.config.replace("fp-", "FP-", 1) if run.is_fp else run.config
        series[f"{short[run.model]} {config}"] = [Point(float(i + 1), v) for i, v in enumerate(mean)]
    return series


def probe_charts(runs: list[Run], cells: list[Cell], task: str, metrics: list[str], display: Display) -> list[str]:
    """The probe's per-layer curve (when display.yaml declares one), then each metric against bits (SVG);
    :data:`CAPTION` says how to read them."""
    charts = []
    curve = display.curves.get(task)
    if curve:
        charts.append(line_chart(curve["name"], curve_series(runs, task), curve["x"], curve["y"]))
    for metric in metrics:
        series, fp_x = bits_series(runs, cells, task, metric)
        name = display.metric_name(task, metric)
        charts.append(line_chart(f"{name} vs bits", series, "bits (FP = full precision)", name, {fp_x: "FP"}))
    return charts
