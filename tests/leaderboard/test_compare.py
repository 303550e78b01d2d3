"""Runs are read as lm-eval writes them and paired with their model's full-precision run."""

from __future__ import annotations

import json
import math

import pytest

from leaderboard.compare.cell import Cell
from leaderboard.compare.pairing import apply_fdr, build_cells
from leaderboard.display import Display, load_display
from leaderboard.read.results import read_run
from leaderboard.read.runs import read_runs
from leaderboard.render.charts import short_names
from leaderboard.render.site import view
from qxbench.errors import QxError

from .conftest import FP, INT8, NF4, write_run


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
    assert flip.model == "qx-tiny"
    assert flip.baseline == 0.75
    assert flip.value == 0.25
    assert flip.diff == -0.5
    assert flip.degradation == 0.5
    assert flip.n == 4
    assert flip.low <= -0.5 <= flip.high
    entrec = _cell(cells, "bnb-nf4-4b", "multihop", "entrec_max")  # every document exactly 0.5 lower
    assert (entrec.diff, entrec.low, entrec.high) == (-0.5, -0.5, -0.5)
    assert entrec.p == 0.125
    assert not entrec.significant  # exact: 2 of the 16 sign flips; 4 documents cannot reach 5 %
    mini = _cell(cells, "bnb-int8-8b", "cf_flip", "minimality")  # lower is better: a decrease is an improvement
    assert mini.diff == pytest.approx(-0.025)
    assert mini.degradation == pytest.approx(-0.025)
    orphan = [c for c in cells if c.model.startswith("<script>")]
    assert orphan
    assert all(c.baseline is None and c.diff is None for c in orphan)
    assert any("no full-precision run" in n for n in notes)
    assert all(c.baseline is None for c in cells if c.config == "fp")


def test_value_baseline_and_difference_come_from_the_same_documents(tmp_path):
    """Measured: a 2.56e5 perplexity shown beside a difference of -424 computed on 2 documents. The value
    shown is now the candidate's over the documents the difference is computed on, and the cell says so."""
    fp = {"acc": [1.0] * 50, "ppl": [600.0, 500.0] + [math.nan] * 48}  # full precision: 2 fluent rewrites
    cand = {"acc": [1.0] * 50, "ppl": [100.0, 150.0] + [2.56e5 * 50 / 48] * 48}
    write_run(tmp_path / "fp", per_doc={"cf_flip": fp})
    write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc={"cf_flip": cand}, stamp="2026-11-23T11-00-00.000000")
    runs, _ = read_runs(tmp_path)
    assert runs[1].tasks["cf_flip"].metrics["ppl"] > 2.5e5  # what the results file reports
    ppl = _cell(build_cells(runs, load_display(), iters=200)[0], "bnb-nf4-4b", "cf_flip", "ppl")
    assert (ppl.value, ppl.baseline, ppl.diff) == (125.0, 550.0, -425.0)
    assert ppl.value - ppl.baseline == ppl.diff
    assert (ppl.n, ppl.n_value, ppl.n_baseline, ppl.paired) == (2, 50, 2, True)
    shown = view(ppl, 1.0)
    assert shown.text == "-77.6% (n=2)"  # perplexity: the geometric mean's change, sqrt(100/600 * 150/500) - 1
    assert ("value 125 and full precision 550 over the 2 documents both define (the candidate defines 50, "
            "full precision 2); difference -77.6% (relative to full precision)") in shown.title
    assert ppl.as_dict()["relative_diff"] == pytest.approx(0.05 ** 0.5 - 1)
    assert ppl.as_dict()["diff"] == -425.0


def test_a_relative_metric_is_the_geometric_means_change_so_one_outlier_cannot_dominate(tmp_path):
    """Measured on SmolLM2 (AG News rewrites): one garbage rewrite's perplexity of ~1e6 made the arithmetic
    difference's interval run to -290 %, below what a perplexity can fall. Every rewrite here reads 10 %
    better, but one full-precision rewrite is garbage: the change is about -10 %, never below -100 %."""
    fp_ppl = [100.0 + d for d in range(49)] + [1e6]
    fp = {"acc": [1.0] * 50, "ppl": fp_ppl}
    cand = {"acc": [1.0] * 50, "ppl": [0.9 * x for x in fp_ppl]}
    write_run(tmp_path / "fp", per_doc={"cf_flip": fp})
    write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc={"cf_flip": cand}, stamp="2026-11-23T11-00-00.000000")
    runs, _ = read_runs(tmp_path)
    ppl = _cell(build_cells(runs, load_display(), iters=200)[0], "bnb-nf4-4b", "cf_flip", "ppl")
    change, low, high = ppl.relative_diff
    assert change == pytest.approx(-0.1)
    assert low == pytest.approx(-0.1)
    assert high == pytest.approx(-0.1)
    assert ppl.diff / ppl.baseline == pytest.approx(-0.1)  # (arithmetic, kept in the downloads)
    assert ppl.p < 0.001
    assert ppl.degradation == pytest.approx(-0.1)  # lower perplexity: better, in relative units
    assert ppl.degradation_interval == pytest.approx((-0.1, -0.1))


def test_a_corpus_level_metric_says_on_how_many_documents_each_side_was_computed(tmp_path):
    write_run(tmp_path / "fp", per_doc={"calib": {"acc": [1.0] * 6, "ace": [math.nan] * 6}})
    q = write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc={"calib": {"acc": [1.0] * 6, "ace": [math.nan] * 6}},
                  stamp="2026-11-23T11-00-00.000000")
    for path, value in ((next((tmp_path / "fp").glob("results_*")), 0.1), (q, 0.25)):  # lm-eval's corpus value
        path.write_text(path.read_text().replace('"ace,none": NaN', f'"ace,none": {value}'))
    ace = _cell(build_cells(read_runs(tmp_path)[0], load_display(), iters=200)[0], "bnb-nf4-4b", "calib", "ace")
    assert (ace.value, ace.baseline, ace.diff, ace.low, ace.paired) == (0.25, 0.1, 0.15, None, False)
    assert (ace.n_value, ace.n_baseline) == (6, 6)
    assert "corpus-level" in ace.note
    assert "value 0.250 on the candidate's 6 documents, full precision 0.100 on its 6" in view(ace, 1.0).title


def test_without_samples_there_is_a_difference_but_no_interval(tmp_path):
    write_run(tmp_path / "fp", per_doc=FP, samples=False)
    write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc=NF4, samples=False, stamp="2026-11-23T11-00-00.000000")
    cells, _ = build_cells(read_runs(tmp_path)[0], load_display())
    flip = _cell(cells, "bnb-nf4-4b", "cf_flip", "flip_rate")
    assert flip.diff == -0.5
    assert flip.low is None
    assert not flip.significant
    assert "--log_samples" in flip.note


@pytest.mark.parametrize(("change", "reason"), [({"version": 2.0}, "task versions differ"),
                                               ({"limit": 2.0}, "--limit differs")])
def test_mismatched_runs_are_not_compared(tmp_path, change, reason):
    write_run(tmp_path / "fp", per_doc=FP)
    write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc=NF4, stamp="2026-11-23T11-00-00.000000", **change)
    cells, notes = build_cells(read_runs(tmp_path)[0], load_display())
    assert all(c.diff is None for c in cells)
    assert any(reason in n for n in notes)


def test_results_files_of_one_config_are_merged_per_task(tmp_path):
    """Tasks run by separate commands: one row with every task, not only the newest file's."""
    write_run(tmp_path / "a", per_doc={"cf_flip": FP["cf_flip"]})
    write_run(tmp_path / "b", per_doc={"multihop": FP["multihop"]}, stamp="2026-11-23T12-00-00.000000")
    runs, notes = read_runs(tmp_path)
    assert len(runs) == 1
    assert sorted(runs[0].tasks) == ["cf_flip", "multihop"]
    assert runs[0].tasks["cf_flip"].metrics["flip_rate"] == 0.75
    assert notes == []


def test_a_task_in_two_files_is_taken_from_the_one_that_finished_last(tmp_path):
    """lm-eval's `date` is the start: a long run started first can be the newer result."""
    long = write_run(tmp_path / "long", per_doc=FP, stamp="2026-11-23T12-00-00.000000", start=10 * 3600,
                     duration=2 * 3600)
    short = write_run(tmp_path / "short", per_doc=NF4, stamp="2026-11-23T10-40-00.000000", start=10.5 * 3600,
                      duration=600)
    runs, notes = read_runs(tmp_path)
    assert len(runs) == 1
    assert runs[0].tasks["cf_flip"].metrics["flip_rate"] == 0.75  # FP's: the long run's
    assert len(notes) == 2  # one per task held by both files
    assert notes[0] == (f"qx-tiny fp: cf_flip from {long.name} (finished 1970-01-01 12:00:00 UTC), "
                        f"not from the older {short.name} (finished 1970-01-01 10:40:00 UTC)")


def test_bad_metric_values_are_said_never_dropped_in_silence(tmp_path):
    write_run(tmp_path / "fp", per_doc=FP)
    q = write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc=NF4, stamp="2026-11-23T11-00-00.000000")
    data = json.loads(q.read_text())
    data["results"]["cf_flip"]["flip_rate,none"] = float("nan")
    data["results"]["cf_flip"]["minimality,none"] = "oops"
    data["results"]["multihop"]["cnst,none"] = None
    q.write_text(json.dumps(data))
    runs, notes = read_runs(tmp_path)
    cells, more = build_cells(runs, load_display(), iters=200)
    flip = _cell(cells, "bnb-nf4-4b", "cf_flip", "flip_rate")
    assert math.isnan(flip.value)
    assert flip.diff is None
    assert flip.degradation is None
    assert "nan" in flip.note
    assert f"{q.name}: cf_flip/flip_rate is nan: shown as – and not compared" in notes
    assert f'{q.name}: cf_flip/minimality is "oops", not a number: left out' in notes
    assert f"{q.name}: multihop/cnst is null, not a number: left out" in notes
    assert "qx-tiny bnb-nf4-4b: cf_flip/minimality is missing (full precision has it)" in more
    assert "qx-tiny bnb-nf4-4b: multihop/cnst is missing (full precision has it)" in more


@pytest.mark.parametrize("empty", [{}, []])
def test_a_run_without_results_is_left_out_with_a_note(tmp_path, empty):
    write_run(tmp_path / "fp", per_doc=FP)
    q = write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc=NF4, stamp="2026-11-23T11-00-00.000000")
    q.write_text(json.dumps({**json.loads(q.read_text()), "results": empty}))
    runs, notes = read_runs(tmp_path)
    assert [r.config for r in runs] == ["fp"]
    assert notes == [f"{q}: no task results: left out"]
    (tmp_path / "fp" / next((tmp_path / "fp").glob("results_*")).name).unlink()
    with pytest.raises(QxError, match="None of the 1 results files .* holds a task result"):
        read_runs(tmp_path)


def test_results_that_are_not_an_object_are_one_line(tmp_path):
    q = write_run(tmp_path, per_doc=FP)
    q.write_text(json.dumps({**json.loads(q.read_text()), "results": ["cf_flip"]}))
    with pytest.raises(QxError, match=r'results is \["cf_flip"\], not an object'):
        read_run(q)
    q.write_text(json.dumps({**json.loads(q.read_text()), "results": {"cf_flip": 0.5}}))
    with pytest.raises(QxError, match=r"results.cf_flip is 0.5, not an object"):
        read_run(q)
    q.write_text("[]")
    with pytest.raises(QxError, match="is a JSON list, not an lm-eval results object"):
        read_run(q)


def test_a_broken_samples_line_names_the_file_and_the_line(tmp_path):
    path = write_run(tmp_path, per_doc=FP)
    samples = next(tmp_path.glob("samples_cf_flip_*.jsonl"))
    lines = samples.read_text().splitlines()
    for broken, reason in (('{"doc_id": 3, "metrics": ["flip_rate"', "Expecting"), ('{"metrics": []}', "no doc_id"),
                           ('{"doc_id": "three"}', 'doc_id is "three", not a document number'),
                           ("[1, 2]", "a list, not an object")):
        samples.write_text("\n".join([*lines[:2], broken, *lines[2:]]) + "\n")
        with pytest.raises(QxError) as err:
            read_run(path)
        assert str(err.value).startswith(f"{samples}:3: broken sample line: {reason}")
        assert "\n" not in str(err.value)


def test_gzipped_samples_read_the_same_per_document_values(tmp_path):
    import gzip

    path = write_run(tmp_path, per_doc=FP)
    plain = read_run(path)
    for samples in tmp_path.glob("samples_*.jsonl"):
        samples.with_name(samples.name + ".gz").write_bytes(gzip.compress(samples.read_bytes()))
        samples.unlink()
    packed = read_run(path)
    assert packed.tasks["cf_flip"].per_doc == plain.tasks["cf_flip"].per_doc
    assert plain.tasks["cf_flip"].per_doc
    broken = next(tmp_path.glob("samples_cf_flip_*.jsonl.gz"))
    broken.write_bytes(b"not gzip")
    with pytest.raises(QxError) as err:
        read_run(path)
    assert str(err.value).startswith(f"Cannot read samples file {broken}")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("task", ["../escape", "a\\b"])
def test_a_task_name_with_a_path_separator_is_left_out_with_a_note(tmp_path, task):
    path = write_run(tmp_path, per_doc={"cf_flip": FP["cf_flip"], task: FP["multihop"]}, samples=False)
    run = read_run(path)
    assert list(run.tasks) == ["cf_flip"]
    assert run.problems == (f"{path.name}: task name {task!r} contains a path separator: left out",)


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


def test_informational_metrics_have_no_direction_and_variants_use_their_family():
    display = load_display()
    assert display.higher_is_better("calib", "confidence", True) is None  # lm-eval's `true` is not a direction
    assert display.higher_is_better("calib_piqa", "confidence", True) is None
    assert display.higher_is_better("calib_piqa", "ace", None) is False
    assert display.metric_name("calib_piqa", "ace") == "ACE"
    cell = Cell("m", "q", "calib", "confidence", 0.9, None, baseline=0.8, diff=0.1, low=0.05, high=0.15, p=0.001)
    assert cell.degradation is None
    assert cell.degradation_interval is None
    assert cell.verdict == ""
    assert apply_fdr([cell])[0].q is None  # no direction: never marked, so not in the family


@pytest.mark.parametrize(("hib", "interval"), [(True, (0.25, 0.75)), (False, (-0.75, -0.25))])
def test_degradation_interval_has_the_sign_of_the_degradation(hib, interval):
    cell = Cell("m", "q", "t", "x", 0.5, hib, baseline=1.0, diff=-0.5, low=-0.75, high=-0.25)
    assert cell.degradation == (0.5 if hib else -0.5)
    assert cell.degradation_interval == interval


def test_short_model_names_for_legends_stay_distinct():
    names = short_names(["HuggingFaceTB/SmolLM2-135M", "/models/llama/", "a/Llama", "b/Llama", "qx-tiny"])
    assert names == {"HuggingFaceTB/SmolLM2-135M": "SmolLM2-135M", "/models/llama/": "llama", "a/Llama": "a/Llama",
                     "b/Llama": "b/Llama", "qx-tiny": "qx-tiny"}


def test_group_notes_one_line_per_metric_across_runs():
    from leaderboard.read.runs import group_notes

    notes = [f"results_{i}.json: nle_sim_esnli/unfaithful is nan: shown as – and not compared" for i in range(5)]
    notes += ["results_0.json: cf_flip/minimality is \"oops\", not a number: left out",
              "smollm2: no full-precision run"]
    grouped = group_notes(notes)
    assert grouped[0] == ("nle_sim_esnli/unfaithful is nan in 5 runs (results_0.json, results_1.json, results_2.json, "
                          "and 2 more): shown as – and not compared")
    assert grouped[1:] == notes[5:]  # a single note keeps its own words; an unparsed one is kept as it is
    assert group_notes(notes[:1]) == notes[:1]


def test_runs_of_different_dtypes_are_never_paired(tmp_path):
    """A bfloat16 quantized run beside a float32 full precision: n/c, naming both dtypes; with a bfloat16 full
    precision it is paired with that one, and the float32 pair stays as it was."""
    root = tmp_path / "r"
    write_run(root / "fp", per_doc=FP)
    write_run(root / "nf4-bf16", quant="bnb-nf4", bits=4, per_doc=NF4, stamp="2026-11-23T10-05-00.0", dtype="bfloat16")
    runs, _ = read_runs(root)
    assert sorted(r.config for r in runs) == ["bnb-nf4-4b-bfloat16", "fp"]
    cells, notes = build_cells(runs, load_display(), iters=200)
    quantized = [c for c in cells if c.config == "bnb-nf4-4b-bfloat16"]
    assert quantized
    assert all(c.diff is None and "dtypes differ (full precision float32 vs bfloat16)" in c.note
               and c.not_comparable == c.note for c in quantized)
    assert any("only in float32: runs of different dtypes are not paired" in n for n in notes)
    write_run(root / "fp-bf16", per_doc=INT8, stamp="2026-11-23T10-07-00.0", dtype="bfloat16")
    runs, _ = read_runs(root)
    cells, _ = build_cells(runs, load_display(), iters=200)
    flip = {(c.config, c.metric): c for c in cells if c.task == "cf_flip"}
    assert flip[("bnb-nf4-4b-bfloat16", "flip_rate")].baseline == pytest.approx(0.75)  # INT8's, the bf16 FP
    assert flip[("fp-bfloat16", "flip_rate")].diff is None
    assert flip[("fp", "flip_rate")].diff is None


def test_a_curve_whose_logged_answer_does_not_read_is_left_out_with_a_note(results_dir):
    samples = next((results_dir / "fp").glob("samples_multihop_*.jsonl"))
    lines = samples.read_text().splitlines()
    row = json.loads(lines[1])
    row["filtered_resps"] = [row["filtered_resps"][0].replace('"cnst": 0.0, ', "")]  # a key missing
    lines[1] = json.dumps(row)
    row = json.loads(lines[2])
    row["filtered_resps"] = [row["filtered_resps"][0].replace("qxbench-result/1", "qxbench-result/9")]
    lines[2] = json.dumps(row)
    samples.write_text("\n".join(lines) + "\n")
    runs, notes = read_runs(results_dir, load_display().curve_keys)
    fp = next(r for r in runs if r.config == "fp" and r.model == "qx-tiny")
    assert sorted(fp.tasks["multihop"].curves) == [0, 3]  # the others' curves and every metric kept
    assert sorted(fp.tasks["multihop"].per_doc) == [0, 1, 2, 3]
    assert [n for n in notes if "curve" in n] == [
        f"{samples.name}:2: multihop: per-layer curve left out: value: expected the fields of MultiHopResult, "
        "found list",
        f"{samples.name}:3: multihop: per-layer curve left out: schema: expected 'qxbench-result/1', "
        "found 'qxbench-result/9'"]
