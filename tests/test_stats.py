from __future__ import annotations

import math

import pytest

from qxbench.stats import paired_diff


def test_constant_shift_has_a_zero_width_interval_at_the_shift():
    d = paired_diff([1.0, 2.0, 3.0, 4.0], [1.5, 2.5, 3.5, 4.5])
    assert (d.mean, d.low, d.high, d.n) == (0.5, 0.5, 0.5, 4)
    assert d.excludes_zero


def test_hand_made_case_two_documents():
    # differences +1 and -1: resamples give means -1, 0 or +1 with probabilities 1/4, 1/2, 1/4
    d = paired_diff([0.0, 1.0], [1.0, 0.0], iters=4000, seed=1)
    assert d.mean == 0.0
    assert d.low == -1.0
    assert d.high == 1.0
    assert not d.excludes_zero


def test_pairing_matters():
    base = [0.1 * i for i in range(50)]
    cand = [b + 0.01 for b in base]  # unpaired, the spread of base would swamp a 0.01 shift
    d = paired_diff(base, cand)
    assert d.excludes_zero
    assert d.low == pytest.approx(0.01)
    assert d.high == pytest.approx(0.01)


def test_nan_pairs_are_dropped_and_nothing_left_is_nan():
    d = paired_diff([1.0, math.nan, 3.0], [2.0, 5.0, math.nan])
    assert d.n == 1
    assert d.mean == 1.0
    empty = paired_diff([math.nan], [1.0])
    assert empty.n == 0
    assert math.isnan(empty.mean)
    assert not empty.excludes_zero
    with pytest.raises(ValueError, match="equal lengths"):
        paired_diff([1.0], [1.0, 2.0])
