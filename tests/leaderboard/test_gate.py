"""qxbench gate: exit 0 within thresholds, 1 beyond, 2 on bad input."""

from __future__ import annotations

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
    return main(["gate", "--baseline", str(base), "--candidate", str(cand), *(f"--max-drop={d}" for d in drops)])


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
    ],
)
def test_bad_thresholds_exit_2(runs, capsys, drops, message):
    fp, nf4, _ = runs
    assert gate(fp, nf4, *drops) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("qxbench: error:") and message in err and "\n" not in err


def test_mismatched_runs_exit_2(tmp_path, capsys):
    fp = write_run(tmp_path / "fp", per_doc=FP)
    other = write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc=NF4, limit=2.0, stamp="2026-11-23T10-09-00.0")
    assert gate(fp, other, "flip_rate=0.5") == 2
    assert "Cannot compare: cf_flip: --limit differs (None vs 2.0)" in capsys.readouterr().err


def test_ambiguous_or_missing_results_exit_2(runs, tmp_path, capsys):
    fp, _, _ = runs
    assert gate(tmp_path, fp, "flip_rate=0.1") == 2  # a directory with three results files
    assert "holds 3 results files" in capsys.readouterr().err
    assert gate(tmp_path / "none", fp) == 2
