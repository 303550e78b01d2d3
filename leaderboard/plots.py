"""Small self-contained SVG line charts (no JavaScript, no fonts or scripts fetched)."""

from __future__ import annotations

import math
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f")
W, H, LEFT, RIGHT, TOP, BOTTOM = 520, 300, 60, 150, 30, 40


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi == lo:
        return [lo]
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def line_chart(title: str, series: dict[str, list[tuple[float, float]]], x_label: str, y_label: str,
               x_names: dict[float, str] | None = None) -> str:
    """One polyline (with points) per series; ``series`` order is the legend order. ``x_names``
    labels x positions that are not numbers (full precision is "FP", not a bit width)."""
    points = [(x, y) for pts in series.values() for x, y in pts if math.isfinite(y)]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" '
           f'aria-label="{escape(title)}">', f'<text x="{LEFT}" y="18" class="title">{escape(title)}</text>']
    if not points:
        out.append(f'<text x="{LEFT}" y="{H // 2}">no data</text></svg>')
        return "\n".join(out)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    if y0 == y1:
        y0, y1 = y0 - 0.5, y1 + 0.5
    if x0 == x1:
        x0, x1 = x0 - 0.5, x1 + 0.5
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return TOP + (1 - (y - y0) / (y1 - y0)) * ph

    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" class="frame"/>')
    # enough significant digits that neighbouring ticks differ
    digits = max(3, 2 + math.ceil(math.log10(max(abs(y0), abs(y1)) / (y1 - y0))) if max(abs(y0), abs(y1)) else 3)
    for t in _ticks(y0, y1):
        out.append(f'<text x="{LEFT - 6}" y="{sy(t) + 4:.1f}" class="tick" text-anchor="end">{t:.{digits}g}</text>')
    for t in sorted(set(xs)):
        name = escape((x_names or {}).get(t, f"{t:g}"))
        out.append(f'<text x="{sx(t):.1f}" y="{TOP + ph + 16}" class="tick" text-anchor="middle">{name}</text>')
    out.append(f'<text x="{LEFT + pw / 2:.1f}" y="{H - 6}" class="axis" text-anchor="middle">{escape(x_label)}</text>')
    out.append(f'<text x="14" y="{TOP + ph / 2:.1f}" class="axis" text-anchor="middle" '
               f'transform="rotate(-90 14 {TOP + ph / 2:.1f})">{escape(y_label)}</text>')
    for i, (name, pts) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        good = sorted((x, y) for x, y in pts if math.isfinite(y))
        if len(good) > 1:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in good)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in good:
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}"><title>{escape(name)}: '
                       f'{y:.4g}</title></circle>')
        ly = TOP + 14 * i + 6
        out.append(f'<rect x="{W - RIGHT + 10}" y="{ly - 8}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{W - RIGHT + 24}" y="{ly + 1}" class="legend">{escape(name[:22])}</text>')
    out.append("</svg>")
    return "\n".join(out)
