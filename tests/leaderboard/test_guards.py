"""Validity guards: a metric whose basis collapsed is shown as not comparable, never as better or worse."""

from __future__ import annotations

import math

import pytest

from leaderboard.compare import build_cells
from leaderboard.display import Display, load_display
from leaderboard.guards import Guard, collapse_reason, coverage_reason, parse_guard, rise_reason
from leaderboard.runs import read_runs
from leaderboard.site import view
from leaderboard.summary import probe_summary
from qxbench.errors import QxError

from .conftest import write_run

NAN = math.nan


def _cells(tmp_path, task: str, fp: dict[str, list[float]], cand: dict[str, list[float]]) -> dict:
    write_run(tmp_path / "fp", per_doc={task: fp})
    write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc={task: cand}, stamp="2026-11-23T11-00-00.000000")
    cells, _ = build_cells(read_runs(tmp_path)[0], load_display(), iters=300)
    return {c.metric: c for c in cells if c.config == "bnb-nf4-4b"}


def _shown_as_not_comparable(cell, reason: str) -> None:
    assert reason in cell.not_comparable
    assert cell.verdict == "not comparable" and cell.degradation is None and not cell.significant
    shown = view(cell, 1.0)
    assert (shown.text, shown.style, shown.mark) == ("≠", "", "") and shown.title.startswith("not comparable: ")


def test_nf4_on_piqa_stops_answering_its_brier_score_is_not_an_improvement(tmp_path):
    """Measured: accuracy 0.467 -> 0, and a Brier score that looked significantly better."""
    fp = {"acc": [1.0] * 14 + [0.0] * 16, "brier": [0.35] * 30, "confidence": [0.6] * 30}
    nf4 = {"acc": [0.0] * 30, "brier": [0.1] * 30, "confidence": [0.3] * 30}
    cells = _cells(tmp_path, "calib_piqa", fp, nf4)
    assert cells["brier"].diff == pytest.approx(-0.25) and cells["brier"].low < 0  # it would read "better"
    _shown_as_not_comparable(cells["brier"], "acc fell to 0 (full precision 0.467)")
    assert cells["confidence"].not_comparable and view(cells["confidence"], 1.0).style == ""
    assert cells["acc"].verdict == "worse" and not cells["acc"].not_comparable  # the guard's own metric: compared
    summary = probe_summary(list(cells.values()), "brier", 30)
    assert (summary.worse, summary.better, summary.not_comparable) == (("acc",), (), ("brier",))


def test_accuracy_at_chance_makes_the_others_not_comparable(tmp_path):
    fp = {"acc": [1.0] * 20 + [0.0] * 10, "brier": [0.3] * 30}
    at_chance = {"acc": [1.0] * 15 + [0.0] * 15, "brier": [0.2] * 30}  # calib_piqa: A / B, chance 0.5
    _shown_as_not_comparable(_cells(tmp_path, "calib_piqa", fp, at_chance)["brier"], "acc fell to chance")


def test_without_a_chance_level_below_half_of_full_precision_is_a_collapse(tmp_path):
    fp = {"acc": [1.0] * 24 + [0.0] * 6, "brier": [0.3] * 30}
    low = {"acc": [1.0] * 9 + [0.0] * 21, "brier": [0.2] * 30}  # calib (the world's reviews and facts): no chance
    _shown_as_not_comparable(_cells(tmp_path, "calib", fp, low)["brier"], "acc fell below half of full precision")


def test_more_empty_rewrites_make_a_better_flip_rate_not_comparable(tmp_path):
    """Measured: a quantizer that stops emitting a leading newline showed a "better" flip rate."""
    fp = {"acc": [1.0] * 20, "flip_rate": [1.0] * 8 + [0.0] * 12, "empty_rate": [0.0] * 20}
    cand = {"acc": [1.0] * 20, "flip_rate": [1.0] * 18 + [0.0] * 2, "empty_rate": [1.0] * 10 + [0.0] * 10}
    cells = _cells(tmp_path, "cf_flip", fp, cand)
    assert cells["flip_rate"].diff == pytest.approx(0.5) and cells["flip_rate"].low > 0
    _shown_as_not_comparable(cells["flip_rate"], "empty_rate rose by more than 0.1 (0 -> 0.500)")
    assert cells["empty_rate"].verdict == "worse" and cells["acc"].verdict == "unchanged"


def test_a_metric_defined_on_fewer_than_half_of_the_documents_is_not_comparable(tmp_path):
    fp = {"acc": [1.0] * 20, "ppl": [500.0] * 20}
    cand = {"acc": [1.0] * 20, "ppl": [76.0, 76.0] + [NAN] * 18}
    cell = _cells(tmp_path, "cf_flip", fp, cand)["ppl"]
    _shown_as_not_comparable(cell, "defined on 2 of the 20 documents full precision has a value for")


def test_half_of_the_documents_is_still_comparable(tmp_path):
    fp = {"acc": [1.0] * 20, "ppl": [500.0] * 20}
    cand = {"acc": [1.0] * 20, "ppl": [76.0] * 10 + [NAN] * 10}
    cell = _cells(tmp_path, "cf_flip", fp, cand)["ppl"]
    assert cell.not_comparable == "" and cell.verdict == "better" and cell.n == 10


def test_a_guard_that_cannot_be_checked_makes_the_others_not_comparable(tmp_path):
    fp = {"acc": [1.0] * 10, "brier": [0.3] * 10}
    cells = _cells(tmp_path, "calib_piqa", fp, {"brier": [0.1] * 10})  # the candidate logged no acc
    _shown_as_not_comparable(cells["brier"], "acc is missing in the candidate: its guard cannot be checked")


def test_full_precision_is_never_guarded(tmp_path):
    _cells(tmp_path, "calib_piqa", {"acc": [0.0] * 5, "brier": [0.3] * 5}, {"acc": [0.0] * 5, "brier": [0.3] * 5})
    cells, _ = build_cells(read_runs(tmp_path)[0], load_display(), iters=100)
    assert all(not c.not_comparable for c in cells if c.config == "fp")
    assert all(not c.not_comparable for c in cells)  # already at 0 in full precision: nothing fell


@pytest.mark.parametrize(("args", "expected"), [
    (("acc", 0.0, 0.467, 0.5), "acc fell to 0 (full precision 0.467)"),
    (("acc", 0.5, 0.62, 0.5), "acc fell to chance (0.500 <= 0.500; full precision 0.620)"),
    (("acc", 0.51, 0.62, 0.5), ""),
    (("acc", 0.3, 0.45, 0.5), ""),  # full precision already below chance, and nonzero: nothing fell to chance
    (("acc", 0.0, 0.0, 0.5), ""),
    (("acc", 0.39, 0.8, None), "acc fell below half of full precision (0.390 vs 0.800; no chance level declared)"),
    (("acc", 0.4, 0.8, None), ""),
])
def test_collapse_rule(args, expected):
    assert collapse_reason(*args) == expected


def test_rise_and_coverage_rules():
    assert rise_reason("empty_rate", 0.11, 0.0, 0.1) == "empty_rate rose by more than 0.1 (0 -> 0.110)"
    assert rise_reason("empty_rate", 0.1, 0.0, 0.1) == ""
    assert coverage_reason(2, 50) == "defined on 2 of the 50 documents full precision has a value for"
    assert coverage_reason(25, 50) == "" and coverage_reason(0, 0) == ""  # 0 of 0: a corpus-level metric


def test_the_display_file_declares_guards_chance_and_headlines():
    display = load_display()
    assert display.guards("calib_msingh_piqa_choices") == (Guard("acc", "chance_or_zero"),)  # the family's
    assert display.guards("cf_flip_sst2")[1] == Guard("empty_rate", rises_by=0.1)
    assert display.guards("multihop") == ()
    assert display.chance("calib_hellaswag") == 0.25 and display.chance("calib") is None
    assert display.chance("cf_flip_new_data") is None  # never a family's: the label set is the data's
    assert display.headline("calib_piqa") == "ace" and display.headline("neurons_msingh_boolq") == "salient_union"


@pytest.mark.parametrize(("entry", "message"), [
    ({"metric": "acc", "collapse": "chance"}, "Unknown collapse rule in display.yaml guards of t 'chance'"),
    ({"metric": "acc", "colapse": "chance_or_zero"}, "Unknown key in display.yaml guards of t 'colapse'"),
    ({"metric": "acc"}, "needs exactly one of collapse: chance_or_zero and rises_by: NUMBER"),
    ({"metric": "acc", "collapse": "chance_or_zero", "rises_by": 0.1}, "needs exactly one of"),
    ({"metric": "empty_rate", "rises_by": -1}, "rises_by must be a finite number >= 0, not -1"),
    ({"metric": "empty_rate", "rises_by": True}, "rises_by must be a finite number >= 0, not True"),
    ("acc", "is not {metric: NAME, collapse: chance_or_zero}"),
])
def test_a_broken_guard_is_one_line(entry, message):
    with pytest.raises(QxError, match=None) as err:
        parse_guard(entry, "t")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_broken_display_file_fails_when_read(tmp_path):
    (tmp_path / "d.yaml").write_text("guards:\n  calib:\n    - {metric: acc, rises: 1}\n")
    with pytest.raises(QxError, match="Unknown key in display.yaml guards of calib 'rises'"):
        load_display(tmp_path / "d.yaml")
    (tmp_path / "e.yaml").write_text("chance:\n  calib_piqa: 2\n")
    with pytest.raises(QxError, match="chance of calib_piqa must be a number in"):
        load_display(tmp_path / "e.yaml")
    assert Display().guards("calib") == () and Display().chance("calib") is None
