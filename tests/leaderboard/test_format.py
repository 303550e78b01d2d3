"""One number rule for the site, the Markdown downloads, the gate's report and the README tables."""

from __future__ import annotations

import math

import pytest

from benchmarks.tables import readme_tables
from leaderboard.compare.cell import Cell
from leaderboard.fmt import TINY_NOTE, fmt, fmt_p, fmt_relative, is_tiny
from leaderboard.render.site import view
from leaderboard.render.text import cell_markdown, markdown


@pytest.mark.parametrize(("x", "plain", "signed"), [
    (0.0, "0", "±0"),
    (-0.0, "0", "±0"),  # never "-0"
    (math.nan, "–", "–"),
    (None, "–", "–"),
    (1e-9, "0.0000", "+0.0000"),  # not zero: under the precision, never 1e-09
    (-4.768e-09, "-0.0000", "-0.0000"),
    (1.7e-05, "0.0000", "+0.0000"),  # the saturated ACE of qx-tiny
    (12345.678, "12346", "+12346"),  # the integer part is never rounded: no 1.23e+04
    (256000.0, "256000", "+256000"),
    (0.004346, "0.0043", "+0.0043"),  # at most four decimals
    (0.92, "0.920", "+0.920"),  # three significant digits, trailing zeros kept
    (-0.16, "-0.160", "-0.160"),
    (9.996, "10.0", "+10.0"),  # rounding up adds a digit: one decimal less
    (0.99996, "1.00", "+1.00"),
    (-8.7385e-05, "-0.0001", "-0.0001"),  # rounds up at the four-decimal cap: never "-0.000" (found in a README)
    (math.inf, "inf", "+inf"),
    (-math.inf, "-inf", "-inf"),
])
def test_the_rule_on_edge_values(x, plain, signed):
    assert fmt(x) == plain
    assert fmt(x, True) == signed
    assert "e" not in fmt(x).replace("–", "") or "inf" in fmt(x)


def test_relative_p_and_tiny():
    assert fmt_relative(0.1234) == "+12.3%"
    assert fmt_relative(-0.773) == "-77.3%"
    assert fmt_relative(None) == "–"
    assert fmt_p(0.00002) == "< 0.0001"
    assert fmt_p(0.0123) == "0.0123"
    assert fmt_p(1.0) == "1.00"
    assert is_tiny(1.7e-05)
    assert is_tiny(-1e-9)
    assert not is_tiny(0.0)
    assert not is_tiny(0.0001)
    assert not is_tiny(math.nan)


def test_every_renderer_uses_the_rule():
    cell = Cell("m", "q", "calib", "ace", 1.7e-05, False, baseline=0.0, diff=1.7e-05, low=0.0, high=3.4e-05, n=50,
                n_value=50, n_baseline=50, paired=True, p=0.5, q=0.9)
    shown = view(cell, 1.0)
    assert shown.text == "+0.0000"
    assert TINY_NOTE in shown.title
    assert "e-05" not in shown.title
    md = markdown([cell])
    assert "| 0.0000 | 0 | +0.0000 | [±0, +0.0000] |" in md
    assert TINY_NOTE in md
    assert "e-0" not in md
    row = {"value": 0.5, "diff": -4.768e-09, "low": -0.02, "high": 0.0, "n": 50, "p": 1.0, "q": 1.0}
    assert readme_tables.cell(row) == "-0.0000 [-0.0200, ±0]"
    assert readme_tables.cell({**row, "diff": 12345.678, "q": 0.01}) == "**+12346** [-0.0200, ±0]"


def test_readme_tables_mark_by_bh_across_the_table_and_refuse_results_without_p():
    def r(p: float) -> dict:
        return {"value": 0.5, "diff": 0.1, "low": 0.05, "high": 0.15, "n": 50, "p": p}

    rows = [{"task": "cf_flip", "metric": "acc", "fp": 0.9, "a": r(0.01), "b": r(0.04)},
            {"task": "cf_flip", "metric": "ppl", "fp": 200.0, "a": r(0.03), "b": {**r(0.5), "n": 0}}]
    # three tests (the corpus-level one has none; "**" counts 2 per mark and 2 in the NOTE):
    # q = 0.03, 0.04, 0.04 -> all marked although 0.04 > 0.05 / 3
    text = readme_tables.table(readme_tables.with_q(rows, ["a", "b"], "x.json"), ["a", "b"])
    assert text.count("**") == 2 * 3 + 2
    assert "`ppl` (relative) | 200 | **+0.0500%** [+0.0250%, +0.0750%]" in text
    assert "+0.0500% (corpus)" in text
    rows[0]["a"] = {**r(0.01), "p": 0.9}
    text = readme_tables.table(readme_tables.with_q(rows, ["a", "b"], "x.json"), ["a", "b"])
    assert text.count("**") == 2  # the NOTE's **Bold** only: nothing is marked (q = 0.06, 0.06, 0.9)
    del rows[0]["b"]["p"]
    with pytest.raises(SystemExit, match="x.json: no p-values .*cf_flip/acc b"):
        readme_tables.with_q(rows, ["a", "b"], "x.json")


def test_chart_ticks_of_values_apart_by_rounding_only_are_not_18_digits():
    from leaderboard.render.plots import Point, line_chart

    svg = line_chart("t", {"a": [Point(4.0, 0.18274699511911788, None, None, "", False),
                                 Point(16.0, 0.182746995119117905, None, None, "", False)]}, "bits", "y")
    assert "0.1827469951" not in svg


def test_one_markdown_cell_for_every_table():
    """README, task READMEs and benchmarks write a cell by cell_markdown: bold only when BH-marked and
    comparable, relative metrics as a percentage, corpus-level and not-comparable cells said so."""
    base = Cell("m", "q", "cf_flip", "ppl", 110.0, False, baseline=100.0, diff=10.0, low=5.0, high=15.0, n=50,
                paired=True, p=0.001, q=0.01, relative=True)
    assert cell_markdown(base) == "**+10.0%** [+5.00%, +15.0%]"
    assert cell_markdown(Cell("m", "q", "t", "acc", 0.5, True, baseline=0.6, diff=-0.1, low=-0.2, high=0.0, n=50,
                              p=0.04, q=0.06)) == "-0.100 [-0.200, ±0]"  # p < 0.05 but q > 0.05: not marked
    marked_nc = Cell("m", "q", "t", "acc", 0.5, True, baseline=0.6, diff=-0.1, low=-0.2, high=-0.05, n=50, p=0.001,
                     q=0.01, not_comparable="accuracy at chance")
    assert cell_markdown(marked_nc) == "-0.100 [-0.200, -0.0500] n/c"  # never bold when not comparable
    corpus = Cell("m", "q", "t", "salient_union", 172.0, None, baseline=166.0, diff=6.0, n=0)
    assert cell_markdown(corpus) == "+6.00 (corpus)"
    assert cell_markdown(Cell("m", "q", "t", "unfaithful", math.nan, False, note="no prediction changed")) == \
        "(no prediction changed)"
    assert cell_markdown(Cell("m", "q", "t", "acc", 0.5, True, not_comparable="x")) == "n/c"
