"""Ordinal Krippendorff's alpha on hand-made cases with known values."""

from __future__ import annotations

import math

import pytest

from qxbench.study.agreement import ordinal_alpha

N = math.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the example with 4 observers,
# 12 units and missing values: alpha = 0.815 at the ordinal level (0.743 nominal, 0.849 interval).
TEXTBOOK = [[1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
            [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N]]


def test_textbook_example():
    assert ordinal_alpha(TEXTBOOK) == pytest.approx(0.815, abs=5e-4)


def test_perfect_agreement_is_one():
    assert ordinal_alpha([[1, 2, 5, 4, N], [1, 2, 5, 4, 3]]) == pytest.approx(1.0)


def test_reversed_ratings_are_below_zero():
    assert ordinal_alpha([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]]) < 0


@pytest.mark.parametrize("data", [
    [[1, 2, 3]],  # one rater
    [[1, N, 3], [N, 2, N]],  # no unit rated twice
    [[4, 4, 4], [4, 4, N]],  # one value only
    [],
])
def test_undefined_is_nan(data):
    assert math.isnan(ordinal_alpha(data))
