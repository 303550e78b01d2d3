"""qxbench gate: exit 0 within thresholds, 1 beyond, 2 on bad input."""

from __future__ import annotations

import math

import pytest

from qxbench.cli import main

from .conftest import FP, INT8, NF4, write_run


@pytest.fixture()
def runs(tmp_path):
    fp = write_run(tmp_path / "fp", per_doc=FP)
    nf4 = write_run(tmp_path / "nf4", quant="bnb-nf4", bits=4, per_doc=NF4, stamp="2026-11-23T10-05-00.000000")
    int8 = write_run(tmp_path / "int8", quant="bnb-int8", bits=8, per_doc=INT8, stamp="2026-11-23T10-06-00.000000")
    return fp, nf4, int8


def gate(base, cand, *drops):
    flags = [d if d.startswith("--") else f"--max-drop={d}" for d in drops]
    return main(["gate", "--baseline", str(base), "--candidate", str(cand), *flags])


def test_within_thresholds_passes(runs, capsys):
    fp, _, int8 = runs
    assert gate(fp, int8, "flip_rate=0.05", "multihop/entrec_max=0.05") == 0
    assert "PASS: 2 thresholded metrics" in capsys.readouterr().out


def test_beyond_a_threshold_fails_and_names_the_metric(runs, capsys):
    fp, nf4, _ = runs
    assert gate(fp, nf4, "flip_rate=0.05", "minimality=0.05") == 1
    out = capsys.readouterr().out
    assert "FAIL: cf_flip/flip_rate degraded beyond the threshold" in out


def test_an_improvement_never_fails(runs):
    fp, _, int8 = runs
    assert gate(fp, int8, "minimality=0") == 0  # int8's edit distance is lower (better) than fp's


def test_task_specific_threshold_wins(runs):
    fp, nf4, _ = runs
    assert gate(fp, nf4, "entrec_max=0.1", "multihop/entrec_max=1.0") == 0


@pytest.mark.parametrize(
    ("drops", "message"),
    [
        (["flip_rat=0.1"], "Unknown metric in --max-drop 'flip_rat'. Did you mean 'flip_rate'?"),
        (["flip_rate"], "--max-drop 'flip_rate' is not METRIC=NUMBER"),
        (["flip_rate=-1"], "a threshold cannot be negative"),
        (["flip_rate=nan"], "--max-drop 'flip_rate=nan': a threshold must be a finite number, not 'nan'"),
        (["flip_rate=inf"], "a threshold must be a finite number, not 'inf'"),
        (["flip_rate=-inf"], "a threshold must be a finite number"),
        (["flip_rate=0.1", "flip_rate=0.2"], "--max-drop 'flip_rate' is given twice (0.1 and 0.2)"),
        ([], "No --max-drop: a gate without a threshold checks nothing. Add one per metric to guard, e.g. "
             "--max-drop cnst=0.05 (metrics: cnst, entrec_max, flip_rate, minimality)"),
    ],
)
def test_bad_thresholds_exit_2(runs, capsys, drops, message):
    fp, nf4, _ = runs
    assert gate(fp, nf4, *drops) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("qxbench: error:")
    assert message in err
    assert "\n" not in err


def test_a_nan_threshold_is_refused_where_zero_fails(runs):
    fp, nf4, _ = runs
    assert gate(fp, nf4, "flip_rate=0") == 1
    assert gate(fp, nf4, "flip_rate=nan") == 2  # nan compares False with everything: it would always pass


def test_a_nan_candidate_metric_fails_and_is_named(tmp_path, capsys):
    fp = write_run(tmp_path / "fp", per_doc=FP)
    nan = {**NF4, "cf_flip": {**NF4["cf_flip"], "flip_rate": [math.nan] * 4}}
    cand = write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc=nan, samples=False, stamp="2026-11-23T10-09-00.0")
    assert gate(fp, cand, "flip_rate=0.9", "entrec_max=1") == 1
    captured = capsys.readouterr()
    assert "FAIL: cf_flip/flip_rate is nan in the candidate" in captured.out
    assert "note: candidate: results_2026-11-23T10-09-00.0.json: cf_flip/flip_rate is nan" in captured.out


@pytest.mark.parametrize(("per_doc", "drop", "named"), [
    ({"cf_flip": {"flip_rate": NF4["cf_flip"]["flip_rate"]}, "multihop": NF4["multihop"]}, "minimality=0.5",
     "cf_flip/minimality is missing in the candidate"),
    ({"cf_flip": NF4["cf_flip"]}, "multihop/cnst=0.5", "multihop/cnst is missing in the candidate"),
])
def test_a_thresholded_metric_missing_in_the_candidate_fails(tmp_path, capsys, per_doc, drop, named):
    fp = write_run(tmp_path / "fp", per_doc=FP)
    cand = write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc=per_doc, stamp="2026-11-23T10-09-00.0")
    assert gate(fp, cand, drop) == 1
    assert f"FAIL: {named}" in capsys.readouterr().out


def test_a_metric_the_baseline_lacks_cannot_be_gated(tmp_path, capsys):
    fp = write_run(tmp_path / "fp", per_doc={"cf_flip": {"flip_rate": FP["cf_flip"]["flip_rate"]}})
    cand = write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc=NF4, stamp="2026-11-23T10-09-00.0")
    assert gate(fp, cand, "minimality=0.5") == 2
    assert "The baseline has no finite value for cf_flip/minimality (None)" in capsys.readouterr().err
    assert gate(fp, cand, "multihop/cnst=0.5") == 2
    assert "The baseline has no value for multihop/cnst" in capsys.readouterr().err


def test_an_informational_metric_cannot_be_gated(tmp_path, capsys):
    fp = write_run(tmp_path / "fp", per_doc={"calib": {"confidence": [0.9, 0.8], "ace": [0.1, 0.2]}})
    cand = write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc={"calib": {"confidence": [0.5, 0.5],
                                                                                  "ace": [0.1, 0.2]}},
                     stamp="2026-11-23T10-09-00.0")
    assert gate(fp, cand, "ace=0") == 0
    assert gate(fp, cand, "confidence=0.1") == 2
    assert "calib/confidence: the metric is informational" in capsys.readouterr().err


def test_a_thresholded_metric_that_is_not_comparable_fails_with_the_reason(tmp_path, capsys):
    """NF4 on PIQA stops answering: its Brier score "improves", but a gate must never pass what it could not
    check."""
    fp = write_run(tmp_path / "fp", per_doc={"calib_piqa": {"acc": [1.0] * 14 + [0.0] * 16, "brier": [0.35] * 30}})
    cand = write_run(tmp_path / "q", quant="bnb-nf4", bits=4, stamp="2026-11-23T10-09-00.0",
                     per_doc={"calib_piqa": {"acc": [0.0] * 30, "brier": [0.1] * 30}})
    assert gate(fp, cand, "brier=0.05") == 1
    out = capsys.readouterr().out
    assert "FAIL: calib_piqa/brier is not comparable: acc fell to 0 (full precision 0.467)" in out
    assert gate(fp, cand, "acc=1") == 0  # the guard's own metric is compared normally


@pytest.mark.parametrize(("change", "reason"), [
    ({"model": "meta-llama/Llama-3-70B"}, "base models differ (qx-tiny vs meta-llama/Llama-3-70B)"),
    ({"dtype": "bfloat16"}, "dtypes differ (float32 vs bfloat16)"),
    ({"version": 2.0}, "cf_flip: task versions differ (1.0 vs 2.0); multihop: task versions differ (1.0 vs 2.0)"),
    ({"limit": 2.0}, "cf_flip: --limit differs (None vs 2.0)"),
    ({"doc_ids": [0, 1, 2, 7]}, "cf_flip: the runs evaluated different documents"),
    ({"per_doc": {t: {m: v[:3] for m, v in ms.items()} for t, ms in NF4.items()}},
     "cf_flip: document counts differ (4 vs 3)"),
])
def test_mismatched_runs_exit_2_unless_allowed(tmp_path, capsys, change, reason):
    fp = write_run(tmp_path / "fp", per_doc=FP)
    other = write_run(tmp_path / "q", **{"quant": "bnb-nf4", "bits": 4, "per_doc": NF4,
                                         "stamp": "2026-11-23T10-09-00.0", **change})
    assert gate(fp, other, "entrec_max=1") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("qxbench: error: Cannot compare: ")
    assert reason in err
    assert "\n" not in err
    assert err.endswith("(--allow-mismatch compares them anyway)")
    assert gate(fp, other, "entrec_max=1", "--allow-mismatch") == 0
    out = capsys.readouterr().out
    assert f"MISMATCH (compared anyway, --allow-mismatch): {reason.split('; ')[0]}" in out
    assert "PASS: " in out
    assert "despite" in out


def test_degradation_and_its_interval_have_the_same_sign(runs, capsys):
    fp, nf4, _ = runs
    assert gate(fp, nf4, "entrec_max=1") == 0  # every document 0.5 lower: 0.5 worse, the CI is [+0.5, +0.5]
    row = next(line for line in capsys.readouterr().out.splitlines() if "entrec_max" in line)
    assert "+0.500" in row
    assert "[+0.500, +0.500]" in row
    assert "-0.5" not in row


def test_ambiguous_or_missing_results_exit_2(runs, tmp_path, capsys):
    fp, _, _ = runs
    assert gate(tmp_path, fp, "flip_rate=0.1") == 2  # a directory with three results files
    assert "holds 3 results files" in capsys.readouterr().err
    assert gate(tmp_path / "none", fp, "flip_rate=0.1") == 2
    assert "No such results file or directory" in capsys.readouterr().err


def test_a_run_gated_against_itself_is_refused(runs, tmp_path, capsys):
    """The same results file as baseline and candidate always passes: say so (exit 2) unless asked."""
    import shutil

    fp, _, _ = runs
    copy = tmp_path / "copy" / fp.name
    copy.parent.mkdir()
    shutil.copy(fp, copy)
    for candidate in (fp, copy):
        assert gate(fp, candidate, "entrec_max=0") == 2
        err = capsys.readouterr().err.strip()
        assert "are the same run" in err
        assert "--allow-same-run" in err
        assert "\n" not in err
    assert gate(fp, fp, "entrec_max=0", "--allow-same-run") == 0
    assert "PASS" in capsys.readouterr().out


def test_a_quantized_baseline_is_refused(runs, capsys):
    """Baseline and candidate swapped: the gate compares a candidate with full precision, never the reverse."""
    fp, nf4, _ = runs
    assert gate(nf4, fp, "entrec_max=1") == 2
    err = capsys.readouterr().err.strip()
    assert "is bnb-nf4-4b, not full precision (quant=none)" in err
    assert "\n" not in err
