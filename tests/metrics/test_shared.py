"""Metric helpers shared by the probe tasks (qxbench.metrics.shared)."""

from __future__ import annotations

import math

from qxbench.metrics.shared import label_item, majority_share, nanmean, total


def test_majority_share_is_the_share_of_the_most_frequent_label_compared_by_index():
    items = [label_item(i, ["negative", "positive"]) for i in (1, 1, 0, 1)]
    assert items[0] == (1, "positive")
    assert majority_share(items) == 0.75
    assert majority_share([(2, "pot"), (2, "sky"), (0, "pot")]) == 2 / 3  # ECQA: options differ, positions count
    assert majority_share([(0, "a")]) == 1.0
    assert math.isnan(majority_share([]))


def test_total_sums_a_count():
    assert total([1.0, 0.0, 1.0]) == 2.0
    assert total([]) == 0.0


def test_nanmean_skips_undefined_values():
    assert nanmean([1.0, math.nan, 3.0]) == 2.0
    assert math.isnan(nanmean([math.nan]))
    assert math.isnan(nanmean([]))
