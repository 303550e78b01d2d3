"""The headline lines a finished run prints (qxbench.run_report)."""

from __future__ import annotations

from qxbench.run_report import headline_lines


def test_cf_flip_shows_agree_fp_and_falls_back_to_the_flip_rate_without_a_reference():
    (line,) = headline_lines({"results": {"cf_flip": {"agree_fp,none": 0.875, "flip_rate,none": 0.25}}})
    assert line.split()[:3] == ["cf_flip", "agree_fp", "0.8750"] and "full-precision" in line
    (line,) = headline_lines({"results": {"cf_flip_sst2": {"flip_rate,none": 0.25}}})  # reference=none, or 3.x
    assert line.split()[:3] == ["cf_flip_sst2", "flip_rate", "0.2500"] and "own label" in line
    assert headline_lines({"results": {"cf_flip": {"acc,none": 1.0}}}) == []
