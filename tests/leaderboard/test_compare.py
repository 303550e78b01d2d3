"""Runs are read as lm-eval writes them and paired with their model's full-precision run."""

from __future__ import annotations

import pytest

from leaderboard.compare import build_cells
from leaderboard.display import Display, load_display
from leaderboard.runs import read_run, read_runs
from qxbench.errors import QxError

from .conftest import FP, NF4, write_run


def _cell(cells, config, task, metric, model="qx-tiny"):
    return next(c for c in cells if (c.model, c.config, c.task, c.metric) == (model, config, task, metric))


def test_runs_are_read_with_na_stderr_samples_and_curves(results_dir):
    runs, notes = read_runs(results_dir, {"multihop": "entrec"})
    assert [(r.model, r.config) for r in runs] == [("<script>alert('x')</script>", "bnb-nf4-4b"), ("qx-tiny", "fp"),
                                                    ("qx-tiny", "bnb-int8-8b"), ("qx-tiny", "bnb-nf4-4b")]
    int8 = runs[2]
    assert int8.tasks["cf_flip"].stderr["flip_rate"] is None  # "N/A"
    assert int8.tasks["multihop"].curves[0] == [-9.0, -5.0, -2.0]
    assert runs[1].tasks["cf_flip"].per_doc[2] == {"flip_rate": 0.0, "minimality": 0.3}
    assert notes == []


def test_paired_differences_direction_and_missing_baseline(results_dir):
    runs, _ = read_runs(results_dir)
    cells, notes = build_cells(runs, load_display(), iters=1000)
    flip = _cell(cells, "bnb-nf4-4b", "cf_flip", "flip_rate")
    assert flip.model == "qx-tiny" and flip.baseline == 0.75 and flip.value == 0.25 and flip.diff == -0.5
    assert flip.degradation == 0.5 and flip.n == 4 and flip.low <= -0.5 <= flip.high
    entrec = _cell(cells, "bnb-nf4-4b", "multihop", "entrec_max")  # every document exactly 0.5 lower
    assert (entrec.diff, entrec.low, entrec.high) == (-0.5, -0.5, -0.5) and entrec.significant
    mini = _cell(cells, "bnb-int8-8b", "cf_flip", "minimality")  # lower is better: a decrease is an improvement
    assert mini.diff == pytest.approx(-0.025) and mini.degradation == pytest.approx(-0.025)
    orphan = [c for c in cells if c.model.startswith("<script>")]
    assert orphan and all(c.baseline is None and c.diff is None for c in orphan)
    assert any("no full-precision run" in n for n in notes)
    assert all(c.baseline is None for c in cells if c.config == "fp")


def test_without_samples_there_is_a_difference_but_no_interval(tmp_path):
    write_run(tmp_path / "fp", per_doc=FP, samples=False)
    write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc=NF4, samples=False, stamp="2026-11-23T11-00-00.000000")
    cells, _ = build_cells(read_runs(tmp_path)[0], load_display())
    flip = _cell(cells, "bnb-nf4-4b", "cf_flip", "flip_rate")
    assert flip.diff == -0.5 and flip.low is None and not flip.significant and "--log_samples" in flip.note


@pytest.mark.parametrize(("change", "reason"), [({"version": 2.0}, "task versions differ"),
                                               ({"limit": 2.0}, "--limit differs")])
def test_mismatched_runs_are_not_compared(tmp_path, change, reason):
    write_run(tmp_path / "fp", per_doc=FP)
    write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc=NF4, stamp="2026-11-23T11-00-00.000000", **change)
    cells, notes = build_cells(read_runs(tmp_path)[0], load_display())
    assert all(c.diff is None for c in cells) and any(reason in n for n in notes)


def test_newest_duplicate_run_is_used_and_said(tmp_path):
    write_run(tmp_path / "a", per_doc=FP)
    write_run(tmp_path / "b", per_doc=NF4, stamp="2026-11-23T12-00-00.000000")
    runs, notes = read_runs(tmp_path)
    assert len(runs) == 1 and runs[0].tasks["cf_flip"].metrics["flip_rate"] == 0.25
    assert "newer than" in notes[0]


def test_bad_inputs_are_one_line(tmp_path):
    with pytest.raises(QxError, match="No lm-eval results"):
        read_runs(tmp_path)
    (tmp_path / "results_x.json").write_text('{"config": {"model": "hf"}}')
    with pytest.raises(QxError, match="not written by a `--model qx` run"):
        read_run(tmp_path / "results_x.json")
    (tmp_path / "results_y.json").write_text("{not json")
    with pytest.raises(QxError, match="Cannot read results file"):
        read_run(tmp_path / "results_y.json")


def test_direction_conflicts_with_the_display_file_are_errors():
    display = Display(metrics={"cf_flip": {"ppl": {"higher_is_better": False}}})
    assert display.higher_is_better("cf_flip", "ppl", False) is False
    assert display.higher_is_better("cf_flip", "new_metric", True) is True  # not in the YAML: from the results
    with pytest.raises(QxError, match="disagrees with the results file"):
        display.higher_is_better("cf_flip", "ppl", True)
