"""Small self-contained SVG line charts (no JavaScript, no fonts or scripts fetched)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from leaderboard.fmt import fmt

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f")
W, H, TOP, BOTTOM, RIGHT = 600, 320, 30, 52, 200
CHAR = 7  # px per character of an 11px tick label (a generous estimate: labels never reach the axis title)
LEGEND_CHARS = 26  # what fits in RIGHT beside the swatch; longer names lose their middle ("…")


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    low: float | None = None  # the 95 % interval drawn as an error bar (y units); None: no bar
    high: float | None = None
    note: str = ""  # said on hover (e.g. "not comparable: ...")
    hollow: bool = False  # drawn as an open circle (a value that is not comparable)


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi == lo:
        return [lo]
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def elide(name: str, width: int = LEGEND_CHARS) -> str:
    """``name`` shortened in its middle to ``width`` characters: the model's start and the config's end stay."""
    if len(name) <= width:
        return name
    head = (width - 1) // 2
    return f"{name[:head]}…{name[len(name) - (width - 1 - head):]}"


def _bounds(points: list[Point]) -> tuple[float, float, float, float]:
    xs = [p.x for p in points]
    ys = [v for p in points for v in (p.y, p.low, p.high) if v is not None and math.isfinite(v)]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    if y1 - y0 <= 1e-9 * max(abs(y0), abs(y1)):  # equal, or apart by rounding only (0.18274699511911788 vs ...905)
        y0, y1 = y0 - 0.5, y1 + 0.5
    if x0 == x1:
        x0, x1 = x0 - 0.5, x1 + 0.5
    return x0, x1, y0, y1


def line_chart(title: str, series: dict[str, list[Point]], x_label: str, y_label: str,
               x_names: dict[float, str] | None = None) -> str:
    """One polyline (with points and their error bars) per series; ``series`` order is the legend order.
    ``x_names`` labels x positions that are not numbers (full precision is "FP", not a bit width)."""
    names = x_names or {}
    points = [p for pts in series.values() for p in pts if math.isfinite(p.y)]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" '
           f'aria-label="{escape(title)}">', f'<text x="10" y="18" class="title">{escape(title)}</text>']
    if not points:
        out.append(f'<text x="60" y="{H // 2}">no data</text></svg>')
        return "\n".join(out)
    x0, x1, y0, y1 = _bounds(points)
    # enough significant digits that neighbouring ticks differ
    digits = max(3, 2 + math.ceil(math.log10(max(abs(y0), abs(y1)) / (y1 - y0))) if max(abs(y0), abs(y1)) else 3)
    ticks = [(t, f"{t:.{digits}g}") for t in _ticks(y0, y1)]
    left = 30 + CHAR * max(len(label) for _, label in ticks)  # the y title (x 8..20) never meets a tick label
    pw, ph = W - left - RIGHT, H - TOP - BOTTOM

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return TOP + (1 - (y - y0) / (y1 - y0)) * ph

    out.append(f'<rect x="{left}" y="{TOP}" width="{pw}" height="{ph}" class="frame"/>')
    for t, label in ticks:
        out.append(f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" class="tick" text-anchor="end">{label}</text>')
    for t in sorted({p.x for p in points}):
        name = escape(names.get(t, f"{t:g}"))
        out.append(f'<text x="{sx(t):.1f}" y="{TOP + ph + 16}" class="tick" text-anchor="middle">{name}</text>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{H - 10}" class="axis" text-anchor="middle">{escape(x_label)}</text>')
    out.append(f'<text x="14" y="{TOP + ph / 2:.1f}" class="axis" text-anchor="middle" '
               f'transform="rotate(-90 14 {TOP + ph / 2:.1f})">{escape(y_label)}</text>')
    for i, (name, pts) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        good = sorted((p for p in pts if math.isfinite(p.y)), key=lambda p: p.x)
        if len(good) > 1:
            path = " ".join(f"{sx(p.x):.1f},{sy(p.y):.1f}" for p in good)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for p in good:
            out += _point(p, sx(p.x), sy, colour, f"{name}: {names.get(p.x, f'{p.x:g} bits')}")
        ly = TOP + 14 * i + 6
        out.append(f'<rect x="{W - RIGHT + 10}" y="{ly - 8}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{W - RIGHT + 24}" y="{ly + 1}" class="legend">{escape(elide(name))}'
                   f'<title>{escape(name)}</title></text>')
    out.append("</svg>")
    return "\n".join(out)


def _point(p: Point, x: float, sy, colour: str, where: str) -> list[str]:
    """An error bar (when the point has a finite interval) and the point, its hover text saying both."""
    out = []
    bar = p.low is not None and p.high is not None and math.isfinite(p.low) and math.isfinite(p.high)
    if bar:
        top, bottom = sy(p.high), sy(p.low)
        out.append(f'<path d="M{x:.1f},{top:.1f}V{bottom:.1f}M{x - 3:.1f},{top:.1f}h6M{x - 3:.1f},{bottom:.1f}h6" '
                   f'stroke="{colour}" fill="none" class="bar"/>')
    text = (f"{where}: {fmt(p.y)}" + (f" [{fmt(p.low)}, {fmt(p.high)}]" if bar else "")
            + (f"; {p.note}" if p.note else ""))
    fill = f'fill="#fff" stroke="{colour}" stroke-width="1.5"' if p.hollow else f'fill="{colour}"'
    out.append(f'<circle cx="{x:.1f}" cy="{sy(p.y):.1f}" r="3" {fill}><title>{escape(text)}</title></circle>')
    return out
