"""The one number format of the leaderboard (site, Markdown downloads, the gate's report, the README tables):
:func:`fmt` and its relatives for relative changes (:func:`fmt_relative`) and p-values (:func:`fmt_p`)."""

from __future__ import annotations

import math

MAX_DECIMALS = 4  # values under 0.00005 in magnitude show as 0.0000 (TINY_NOTE), never in scientific notation
TINY_NOTE = "0.0000: not zero, but under 0.00005 in magnitude (not informative at this precision)"


def fmt(x: float | None, signed: bool = False) -> str:
    """The one number format of the site, the Markdown downloads, the gate's report and the README tables:
    three significant digits, at most four decimals, the integer part never rounded (12345.678 -> 12346,
    so never scientific notation); ``signed`` (a difference): a sign always, ``±0`` for an exact zero.
    "–" for None or NaN; "inf" / "-inf" with their sign. -0 is 0. A non-zero value under 0.00005 in
    magnitude shows as 0.0000 (signed: +0.0000 / -0.0000; see :func:`is_tiny` and TINY_NOTE)."""
    if x is None or math.isnan(x):
        return "–"
    x = float(x)
    if math.isinf(x):
        return ("+inf" if signed else "inf") if x > 0 else "-inf"
    if x == 0:
        return "±0" if signed else "0"
    decimals = _decimals(x)
    text = f"{abs(x):.{decimals}f}"
    sign = "-" if x < 0 else ("+" if signed else "")
    return sign + text


def _decimals(x: float) -> int:
    """Decimals for three significant digits (at most MAX_DECIMALS, at least 0), after rounding: 9.996 -> 2."""
    magnitude = math.floor(math.log10(abs(x)))
    decimals = min(MAX_DECIMALS, max(0, 2 - magnitude))
    rounded = round(abs(x), decimals)
    uncapped = decimals == 2 - magnitude  # (capped at MAX_DECIMALS: 0.0000874 -> 0.0001, not 0.000)
    if rounded and decimals and uncapped and math.floor(math.log10(rounded)) > magnitude:  # 9.996 -> 10.00: 10.0
        decimals -= 1
    return decimals


def is_tiny(x: float | None) -> bool:
    """Not zero, but shown as 0.0000 by :func:`fmt` (the renderers add TINY_NOTE)."""
    return x is not None and math.isfinite(x) and x != 0 and abs(x) < 0.5 * 10 ** -MAX_DECIMALS


def fmt_relative(x: float | None) -> str:
    """A relative change (0.123 -> "+12.3%"), by :func:`fmt`'s rule."""
    return "–" if x is None or math.isnan(x) else fmt(100 * x, True) + "%"


def fmt_p(p: float | None) -> str:
    """A p- or q-value: "< 0.0001" below the precision of :func:`fmt`."""
    if p is None or math.isnan(p):
        return "–"
    return "< 0.0001" if p < 1e-4 else fmt(p)
