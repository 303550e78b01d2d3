"""The marks control the false discovery rate: paired sign-flip p-values, Benjamini–Hochberg q-values."""

from __future__ import annotations

import math
import random

import pytest

from leaderboard.compare.pairing import build_cells
from leaderboard.display import load_display
from leaderboard.read.runs import read_runs
from leaderboard.render.site import view
from leaderboard.render.text import downloads
from qxbench.stats import (
    RESAMPLES,
    bh_adjust,
    bh_testable,
    bh_testable_or_none,
    nonzero_count,
    paired_diff,
    sign_flip_p,
    smallest_p,
)

from .conftest import write_run


def test_bh_adjusted_values_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 (m = 4): m p / rank = 0.02, 0.02, 0.04, 0.04; already monotone
    assert bh_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    # the step-up: 0.02 * 3 / 1 = 0.06 is lowered to the 0.04 of the larger p-values; all three are marked
    assert bh_adjust([0.02, 0.03, 0.04]) == pytest.approx([0.04, 0.04, 0.04])
    # capped at 1; NaN (no test) stays NaN and does not count in m (m = 2 here)
    q = bh_adjust([0.9, math.nan, 0.6])
    assert q[0] == pytest.approx(0.9)
    assert math.isnan(q[1])
    assert q[2] == pytest.approx(0.9)
    assert bh_adjust([0.7, 0.8]) == pytest.approx([0.8, 0.8])
    assert bh_adjust([]) == []
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        bh_adjust([1.5])


def test_bh_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    if not hasattr(stats, "false_discovery_control"):
        pytest.skip("scipy < 1.11 has no false_discovery_control")
    rng = random.Random(3)
    p = [rng.random() ** 3 for _ in range(40)]
    assert bh_adjust(p) == pytest.approx(list(stats.false_discovery_control(p, method="bh")))


def test_sign_flip_p_exact_and_resampled():
    assert sign_flip_p([1.0, 1.0, 1.0, 1.0]) == 2 / 16  # exact: only all-plus and all-minus are as extreme
    assert sign_flip_p([1.0, -1.0]) == 1.0
    assert sign_flip_p([0.0, 0.0, 0.0]) == 1.0
    # sums of the 8 assignments of [2, 1, 1]: 4, 2, 2, 0, 0, -2, -2, -4; |sum| >= 4: two; |sum| >= 2: six
    assert sign_flip_p([2.0, 1.0, 1.0]) == 2 / 8
    assert sign_flip_p([2.0, 1.0, -1.0]) == 6 / 8
    assert math.isnan(sign_flip_p([]))
    n20 = [1.0] * 20  # 2**20 assignments: resampled, seeded; the observed one counted, so never 0
    assert sign_flip_p(n20) == 1 / (1 + RESAMPLES)
    assert sign_flip_p(n20, seed=5) == sign_flip_p(n20, seed=5)
    rng = random.Random(1)
    noise = [rng.gauss(0.0, 1.0) for _ in range(17)]  # 17 > the exact limit: resampled ~ the exact value
    exact = sign_flip_p(noise[:16])
    assert abs(sign_flip_p(noise[:16] + [0.0], resamples=20_000) - exact) < 0.02  # a zero difference adds nothing
    with pytest.raises(ValueError, match="NaN"):
        sign_flip_p([1.0, math.nan])
    assert paired_diff([0.0] * 4, [1.0] * 4).p == 0.125
    assert math.isnan(paired_diff([math.nan], [1.0]).p)


def _table(tmp_path, seed: int = 7, n: int = 50, nulls: int = 60):
    """Full precision and one quantized config; one metric truly shifted, ``nulls`` that are not."""
    rng = random.Random(seed)
    fp, q = {}, {}
    for i in range(nulls + 1):
        base = [rng.gauss(0.0, 1.0) for _ in range(n)]
        shift = 0.8 if i == 0 else 0.0
        fp[f"m{i:02d}"] = base
        q[f"m{i:02d}"] = [b + shift + rng.gauss(0.0, 0.5) for b in base]
    write_run(tmp_path / "fp", per_doc={"multihop": fp})
    write_run(tmp_path / "q", quant="rtn", bits=4, per_doc={"multihop": q}, stamp="2026-11-23T11-00-00.000000")
    runs, _ = read_runs(tmp_path)
    cells, _ = build_cells(runs, load_display(), iters=500)
    return [c for c in cells if c.config != "fp"]


def test_one_true_effect_among_60_nulls_is_the_only_mark(tmp_path):
    cells = _table(tmp_path)
    assert len(cells) == 61
    assert all(c.p is not None and c.q is not None for c in cells)
    marked = {c.metric for c in cells if c.significant}
    assert marked == {"m00"}
    uncorrected = {c.metric for c in cells if c.p <= 0.05}  # the rule without the correction
    interval = {c.metric for c in cells if c.low > 0 or c.high < 0}  # the old rule: the interval excludes 0
    assert "m00" in uncorrected
    assert len(uncorrected - {"m00"}) >= 2  # nulls it would mark, by chance
    assert len(interval - {"m00"}) >= 2
    assert all(c.q > 0.05 for c in cells if c.metric in uncorrected - {"m00"})
    true = next(c for c in cells if c.metric == "m00")
    assert true.q == pytest.approx(true.p * 61)
    assert view(true, 1.0).mark == "*"
    assert "BH q = " in view(true, 1.0).title
    assert "sign-flip p = " in view(true, 1.0).title


def test_q_values_are_in_the_downloads(tmp_path):
    files = downloads(_table(tmp_path, nulls=3))
    assert '"q": ' in files["leaderboard.json"]
    assert '"p": ' in files["leaderboard.json"]
    header = files["leaderboard.csv"].splitlines()[0].split(",")
    assert {"p", "q", "significant"} <= set(header)
    bold = [line for line in files["leaderboard.md"].splitlines() if "**+" in line or "**-" in line]
    assert len(bold) == 1
    assert "| m00 |" in bold[0]


def test_smallest_p_is_what_the_test_reaches_with_k_documents_differing():
    assert [smallest_p(k) for k in range(8)] == [1.0, 1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625]
    for k in range(1, 9):  # the bound is reached: k equal differences, the rest zero (exact: n <= 16)
        assert sign_flip_p([1.0] * k + [0.0] * (12 - k)) == smallest_p(k)
    assert nonzero_count([0.0, 1e-15, -0.5, 2.0]) == 2  # below the test's rounding tolerance: zero
    assert nonzero_count([]) == 0
    assert paired_diff([1.0, 2.0, 3.0], [1.0, 2.5, 2.0]).nonzero == 2
    with pytest.raises(ValueError, match="-1"):
        smallest_p(-1)


def _zeros_table(tmp_path, differing: int, zeros: int = 40, n: int = 50):
    """One metric shifted on every document, one shifted on ``differing`` documents only, and ``zeros``
    metrics where the quantized config equals full precision on every document (soup rates of a real model)."""
    rng = random.Random(11)
    base = [rng.gauss(0.0, 1.0) for _ in range(n)]
    fp = {"true": base, "few": [0.0] * n, **{f"z{i:02d}": [0.0] * n for i in range(zeros)}}
    q = {"true": [b + 0.8 + rng.gauss(0.0, 0.5) for b in base], "few": [1.0] * differing + [0.0] * (n - differing),
         **{f"z{i:02d}": [0.0] * n for i in range(zeros)}}
    write_run(tmp_path / "fp", per_doc={"multihop": fp})
    write_run(tmp_path / "q", quant="rtn", bits=4, per_doc={"multihop": q}, stamp="2026-11-23T11-00-00.000000")
    runs, _ = read_runs(tmp_path)
    cells, _ = build_cells(runs, load_display(), iters=200)
    return {c.metric: c for c in cells if c.config != "fp"}


def test_all_zero_comparisons_leave_the_bh_family(tmp_path):
    cells = _zeros_table(tmp_path, differing=5)
    zero = cells["z00"]
    assert (zero.p, zero.nonzero, zero.q, zero.untestable, zero.verdict) == (1.0, 0, None, True, "unchanged")
    few = cells["few"]  # 5 of 50 documents differ, all the same way: p = 2 / 2**5 at best, never <= 0.05
    assert few.nonzero == 5 and few.untestable and few.q is None
    true = cells["true"]
    assert true.q == pytest.approx(true.p)  # a family of one: 41 untestable comparisons do not dilute it
    assert "0 of 50 documents differ, too few for any p <= 0.05" in view(zero, 1.0).title
    assert "BH q = " in view(true, 1.0).title


def test_six_differing_documents_are_tested(tmp_path):
    cells = _zeros_table(tmp_path, differing=6, zeros=0)
    few = cells["few"]
    assert few.nonzero == 6 and not few.untestable
    assert few.p <= 0.05 and few.q is not None  # 2 / 2**6 = 0.031 by the resampled test


def test_bh_testable_leaves_out_what_cannot_reach_the_level():
    q = bh_testable([0.01, 1.0, 0.02, 0.2], [10, 0, None, 5])  # None: not recorded, tested; 5 differ: left out
    assert q[0] == pytest.approx(0.02) and q[2] == pytest.approx(0.02)  # m = 2, not 4
    assert math.isnan(q[1]) and math.isnan(q[3])
    with pytest.raises(ValueError, match="2 p-values but 1 counts"):
        bh_testable([0.1, 0.2], [3])


def test_bh_testable_or_none_writes_none_for_no_test():
    assert bh_testable_or_none([0.01, 1.0, 0.02, 0.2], [10, 0, None, 5]) == [
        pytest.approx(0.02), None, pytest.approx(0.02), None]
