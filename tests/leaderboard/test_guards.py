"""Validity guards: a metric whose basis collapsed is shown as not comparable, never as better or worse."""

from __future__ import annotations

import json
import math

import pytest

from leaderboard.compare.guards import collapse_reason, coverage_reason, majority_reason, rise_reason
from leaderboard.compare.pairing import build_cells
from leaderboard.compare.summary import probe_summary
from leaderboard.display import Display, Guard, load_display, parse_guard
from leaderboard.gate import run_gate
from leaderboard.read.runs import read_runs
from leaderboard.render.site import view
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
    assert cell.verdict == "not comparable"
    assert cell.degradation is None
    assert not cell.significant
    shown = view(cell, 1.0)
    assert (shown.text, shown.style, shown.mark) == ("≠", "", "")
    assert shown.title.startswith("not comparable: ")


def test_nf4_on_piqa_stops_answering_its_brier_score_is_not_an_improvement(tmp_path):
    """Measured: accuracy 0.467 -> 0, and a Brier score that looked significantly better."""
    fp = {"acc": [1.0] * 14 + [0.0] * 16, "brier": [0.35] * 30, "confidence": [0.6] * 30}
    nf4 = {"acc": [0.0] * 30, "brier": [0.1] * 30, "confidence": [0.3] * 30}
    cells = _cells(tmp_path, "calib_piqa", fp, nf4)
    assert cells["brier"].diff == pytest.approx(-0.25)
    assert cells["brier"].low < 0  # it would read "better"
    _shown_as_not_comparable(cells["brier"], "acc fell to 0 (full precision 0.467)")
    assert cells["confidence"].not_comparable
    assert view(cells["confidence"], 1.0).style == ""
    assert cells["acc"].verdict == "worse"
    assert not cells["acc"].not_comparable  # the guard's own metric: compared
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
    assert cells["flip_rate"].diff == pytest.approx(0.5)
    assert cells["flip_rate"].low > 0
    _shown_as_not_comparable(cells["flip_rate"], "empty_rate rose by more than 0.1 (0 -> 0.500)")
    assert cells["empty_rate"].verdict == "worse"
    assert cells["acc"].verdict == "unchanged"


def test_a_metric_defined_on_fewer_than_half_of_the_documents_is_not_comparable(tmp_path):
    fp = {"acc": [1.0] * 20, "ppl": [500.0] * 20}
    cand = {"acc": [1.0] * 20, "ppl": [76.0, 76.0] + [NAN] * 18}
    cell = _cells(tmp_path, "cf_flip", fp, cand)["ppl"]
    _shown_as_not_comparable(cell, "defined on 2 of the 20 documents full precision has a value for")


def test_half_of_the_documents_is_still_comparable(tmp_path):
    fp = {"acc": [1.0] * 20, "ppl": [500.0] * 20}
    cand = {"acc": [1.0] * 20, "ppl": [76.0] * 10 + [NAN] * 10}
    cell = _cells(tmp_path, "cf_flip", fp, cand)["ppl"]
    assert cell.not_comparable == ""
    assert cell.verdict == "better"
    assert cell.n == 10


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
    assert coverage_reason(25, 50) == ""
    assert coverage_reason(0, 0) == ""  # 0 of 0: a corpus-level metric


def test_the_display_file_declares_guards_chance_and_headlines():
    display = load_display()
    assert display.guards("calib_msingh_piqa_choices") == (Guard("acc", "chance_or_zero"),)  # the family's
    assert display.guards("cf_flip_sst2")[1] == Guard("empty_rate", rises_by=0.1)
    assert display.guards("multihop") == ()
    assert display.chance("calib_hellaswag") == 0.25
    assert display.chance("calib") is None
    assert display.chance("cf_flip_new_data") is None  # never a family's: the label set is the data's
    assert display.headline("calib_piqa") == "ace"
    assert display.headline("neurons_msingh_boolq") == "salient_union"


@pytest.mark.parametrize(("entry", "message"), [
    ({"metric": "acc", "collapse": "chance"}, "Unknown collapse rule in display.yaml guards of t 'chance'"),
    ({"metric": "acc", "colapse": "chance_or_zero"}, "Unknown key in display.yaml guards of t 'colapse'"),
    ({"metric": "acc"}, "needs exactly one of collapse: chance_or_zero, rises_by: NUMBER and at_least: NUMBER"),
    ({"metric": "acc", "collapse": "chance_or_zero", "rises_by": 0.1}, "needs exactly one of"),
    ({"metric": "empty_rate", "rises_by": -1}, "rises_by must be a finite number >= 0, not -1"),
    ({"metric": "empty_rate", "rises_by": True}, "rises_by must be a finite number >= 0, not True"),
    ("acc", "is not {metric: NAME, collapse: chance_or_zero}"),
])
def test_a_broken_guard_is_one_line(entry, message):
    with pytest.raises(QxError, match=None) as err:
        parse_guard(entry, "t")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_broken_display_file_fails_when_read(tmp_path):
    (tmp_path / "d.yaml").write_text("guards:\n  calib:\n    - {metric: acc, rises: 1}\n")
    with pytest.raises(QxError, match="Unknown key in display.yaml guards of calib 'rises'"):
        load_display(tmp_path / "d.yaml")
    (tmp_path / "e.yaml").write_text("chance:\n  calib_piqa: 2\n")
    with pytest.raises(QxError, match="chance of calib_piqa must be a number in"):
        load_display(tmp_path / "e.yaml")
    assert Display().guards("calib") == ()
    assert Display().chance("calib") is None


# A constant classifier: pred_majority (corpus-level, the share of the most-predicted label) at or above 0.9
# makes the flip and insertion metrics not comparable, in the config or in full precision.

CF_AFFECTED = ("flip_rate", "flip_rate_ref", "target_rate")


def _majority_runs(tmp_path, task: str, fp_share: float, q_share: float, n: int = 20) -> list:
    """Full precision and bnb-nf4 runs of ``task`` whose pred_majority is ``fp_share`` / ``q_share``: corpus-level,
    as cf_flip and nle_sim 4.0 write it (the samples log a label, not a number; the results the share)."""
    metrics = ({m: [1.0] * (n // 2) + [0.0] * (n - n // 2) for m in CF_AFFECTED} | {"minimality": [0.2] * n}
               if task.startswith("cf_flip") else {"insert_flip": [0.5] * n, "unfaithful": [0.5] * n,
                                                   "cosine": [0.6] * n})
    per_doc = {"acc": [1.0] * n, **metrics, "pred_majority": [NAN] * n}
    for folder, share, quant, stamp in (("fp", fp_share, "none", "2026-11-23T10-00-00.000000"),
                                        ("q", q_share, "bnb-nf4", "2026-11-23T11-00-00.000000")):
        path = write_run(tmp_path / folder, quant=quant, bits=None if quant == "none" else 4,
                         per_doc={task: per_doc}, stamp=stamp)
        data = json.loads(path.read_text())
        data["results"][task]["pred_majority,none"] = share
        data["higher_is_better"][task] |= {m: False for m in ("insert_flip", "unfaithful") if m in per_doc}
        path.write_text(json.dumps(data))
    return sorted(read_runs(tmp_path)[0], key=lambda r: not r.is_fp)


def _by_config(runs: list) -> dict[str, dict]:
    cells, _ = build_cells(runs, load_display(), iters=200)
    out: dict[str, dict] = {}
    for c in cells:
        out.setdefault(c.config, {})[c.metric] = c
    return out


def test_a_quantized_config_that_predicts_one_label_has_no_comparable_flips(tmp_path):
    cells = _by_config(_majority_runs(tmp_path, "cf_flip", 0.6, 0.96))
    for metric in CF_AFFECTED:
        _shown_as_not_comparable(cells["bnb-nf4-4b"][metric],
                                 "predicts one label for 96 % of documents (pred_majority 0.960 >= 0.9)")
        assert "full precision" not in cells["bnb-nf4-4b"][metric].not_comparable
    for metric in ("acc", "minimality", "pred_majority"):  # only the flips: the rest is compared as usual
        assert not cells["bnb-nf4-4b"][metric].not_comparable
    assert not any(c.note for c in cells["fp"].values())


def test_a_full_precision_that_predicts_one_label_makes_every_config_s_flips_not_comparable(tmp_path):
    cells = _by_config(_majority_runs(tmp_path, "cf_flip", 0.96, 0.6))
    for metric in CF_AFFECTED:
        _shown_as_not_comparable(cells["bnb-nf4-4b"][metric], "full precision predicts one label for 96 % of "
                                 "documents (pred_majority 0.960 >= 0.9)")
        fp = cells["fp"][metric]  # its own value is shown (there is no difference), with the reason in its note
        assert not fp.not_comparable
        assert fp.note == "predicts one label for 96 % of documents (pred_majority 0.960 >= 0.9)"
        assert view(fp, 1.0).text == "0.500"
        assert "predicts one label" in view(fp, 1.0).title
    assert not cells["bnb-nf4-4b"]["minimality"].not_comparable
    assert not cells["fp"]["minimality"].note


def test_nle_sim_insertions_of_a_constant_classifier_are_not_comparable(tmp_path):
    cells = _by_config(_majority_runs(tmp_path, "nle_sim_esnli", 1.0, 0.97))
    for metric in ("insert_flip", "unfaithful"):
        why = cells["bnb-nf4-4b"][metric].not_comparable
        assert why == ("predicts one label for 97 % of documents (pred_majority 0.970 >= 0.9); full precision "
                       "predicts one label for 100 % of documents (pred_majority 1.00 >= 0.9)")
    assert not cells["bnb-nf4-4b"]["cosine"].not_comparable


def test_below_the_threshold_everything_is_compared(tmp_path):
    cells = _by_config(_majority_runs(tmp_path, "cf_flip", 0.89, 0.899))
    assert not any(c.not_comparable or "predicts one label" in c.note for run in cells.values() for c in run.values())
    assert cells["bnb-nf4-4b"]["flip_rate"].verdict == "unchanged"


@pytest.mark.parametrize(("fp_share", "q_share", "nc"), [(0.9, 0.5, True), (0.5, 0.9, True), (0.5, 0.8999, False)])
def test_the_threshold_itself_is_a_constant_classifier(tmp_path, fp_share, q_share, nc):
    cells = _by_config(_majority_runs(tmp_path, "cf_flip", fp_share, q_share))
    assert bool(cells["bnb-nf4-4b"]["target_rate"].not_comparable) is nc
    assert ("predicts one label for 90 % of documents" in cells["bnb-nf4-4b"]["target_rate"].not_comparable) is nc


def test_majority_rule():
    assert majority_reason("pred_majority", 0.9, 0.9) == "predicts one label for 90 % of documents (pred_majority " \
        "0.900 >= 0.9)"
    assert majority_reason("pred_majority", 0.96, 0.9, "full precision ").startswith("full precision predicts one label"
                                                                                   " for 96 % of documents")
    assert majority_reason("pred_majority", 0.8999, 0.9) == ""


def test_the_gate_fails_on_the_flips_of_a_constant_classifier(tmp_path):
    base, cand = _majority_runs(tmp_path, "cf_flip", 0.6, 0.96)
    result = run_gate(base, cand, {"flip_rate": 0.5, "minimality": 0.5}, load_display())
    (failed,) = result.failed
    assert failed.cell.metric == "flip_rate"
    assert failed.reason.startswith("is not comparable: predicts one label for 96 % of documents")


def test_the_display_file_guards_constant_classifiers():
    display = load_display()
    assert Guard("pred_majority", at_least=0.9, affects=CF_AFFECTED) in display.guards("cf_flip_esnli")
    assert Guard("pred_majority", at_least=0.9, affects=("insert_flip", "unfaithful")) in display.guards("nle_sim_ecqa")


@pytest.mark.parametrize(("entry", "message"), [
    ({"metric": "pred_majority", "at_least": 0.9}, "the at_least guard of pred_majority needs affects: [METRIC, ...]"),
    ({"metric": "pred_majority", "at_least": 0.9, "affects": []}, "needs affects: [METRIC, ...], a non-empty list"),
    ({"metric": "pred_majority", "at_least": 0.9, "affects": "flip_rate"}, "not 'flip_rate'"),
    ({"metric": "pred_majority", "at_least": "0.9", "affects": ["flip_rate"]},
     "at_least must be a finite number >= 0, not '0.9'"),
    ({"metric": "pred_majority", "at_least": math.inf, "affects": ["flip_rate"]}, "at_least must be a finite number"),
    ({"metric": "pred_majority", "at_least": 0.9, "rises_by": 0.1, "affects": ["x"]}, "needs exactly one of"),
    ({"metric": "empty_rate", "rises_by": 0.1, "affects": ["flip_rate"]}, "affects is for at_least only"),
    ({"metric": "pred_majority", "at_least": 0.9, "affect": ["flip_rate"]},
     "Unknown key in display.yaml guards of t 'affect'. Did you mean 'affects'?"),
    ({"metric": "pred_majority", "at_least": 0.9, "affects": ["pred_majority"]}, "cannot affect itself"),
])
def test_a_broken_majority_guard_is_one_line(entry, message):
    with pytest.raises(QxError) as err:
        parse_guard(entry, "t")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_guard_affecting_an_unknown_metric_fails_when_read(tmp_path):
    (tmp_path / "d.yaml").write_text("metrics:\n  cf_flip:\n    flip_rate: {higher_is_better: true}\n"
                                     "guards:\n  cf_flip:\n    - {metric: pred_majority, at_least: 0.9, "
                                     "affects: [flip_rat]}\n")
    with pytest.raises(QxError, match="Unknown metric in affects: of the guards of cf_flip in d.yaml 'flip_rat'. "
                                      "Did you mean 'flip_rate'"):
        load_display(tmp_path / "d.yaml")


def test_chance_is_the_sample_s_majority_rate_where_full_precision_reports_it():
    from leaderboard.compare.pairing import chance_level
    from leaderboard.read.results import TaskResult

    def result(**metrics):
        return TaskResult("4.1", None, 50, metrics, {}, {}, None, None)

    assert chance_level(1 / 3, result(acc=0.6, chance=0.56)) == 0.56  # e-SNLI's sample: 56 % one label
    assert chance_level(1 / 3, result(acc=0.6)) == 1 / 3  # 3.x: no majority rate logged
    assert chance_level(0.5, result(chance=0.3)) == 0.5  # never below 1 / labels
    assert chance_level(None, result(chance=float("nan"))) is None


def test_a_count_is_compared_as_sums_over_the_same_documents_like_full_precision_s_row(tmp_path):
    cells = _cells(tmp_path, "cf_flip", {"n_valid_flips": [1.0, 1.0, 0.0, 1.0], "acc": [1.0] * 4},
                   {"n_valid_flips": [0.0, 1.0, 0.0, 0.0], "acc": [1.0] * 4})
    flips = cells["n_valid_flips"]
    assert (flips.value, flips.baseline, flips.diff, flips.n) == (1.0, 3.0, -2.0, 4)  # counts, not 0.25 vs 0.75
    assert flips.low is None
    assert flips.p is None  # informational: no interval, never tested
