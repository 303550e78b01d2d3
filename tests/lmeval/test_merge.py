"""qxbench merge: a --limit 2 run and a --docs 2:4 run of the embedded model joined are the --limit 4 run (its
aggregates, task hash, document count and --limit); runs that are not parts of one run are refused in one line."""

from __future__ import annotations

import gzip
import json
import math
import re
import shutil
from pathlib import Path

import pytest

from qxbench.cli import main
from qxbench.errors import QxError
from qxbench.lmeval.merge import merge

TASKS = "cf_flip,nle_sim"


def _eval(out: Path, *select: str) -> Path:
    assert main(["eval", "--model", "qx", "--tasks", TASKS, "--batch_size", "8", "--device", "cpu",
                 "--log_samples", "--output_path", str(out), *select]) == 0
    (results,) = out.rglob("results_*.json")
    return results


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("merge")
    samples = json.dumps({t: [2, 3] for t in TASKS.split(",")})
    return {"whole": _eval(root / "whole", "--limit", "4"), "first": _eval(root / "first", "--limit", "2"),
            "second": _eval(root / "second", "--samples", samples)}


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    return a == b


def test_two_parts_joined_are_the_whole_run(runs, tmp_path, capsys):
    assert main(["merge", str(runs["first"].parent), str(runs["second"]), "-o", str(tmp_path)]) == 0
    line = capsys.readouterr().out
    assert "2 task(s), 2 + 2 documents (--limit 4)" in line
    (joined,) = tmp_path.rglob("results_*.json")
    got, whole = json.loads(joined.read_text()), json.loads(runs["whole"].read_text())
    assert got["config"]["limit"] == whole["config"]["limit"] == 4
    assert got["n-samples"] == whole["n-samples"]
    assert got["task_hashes"] == whole["task_hashes"]  # the same documents, prompts and targets, in order
    for task, values in whole["results"].items():
        off = {k: (v, got["results"][task][k]) for k, v in values.items() if not _close(v, got["results"][task][k])}
        assert not off, (task, off)
    parts = got["qx_merged"]["parts"]
    assert [p["docs"]["cf_flip"] for p in parts] == [[0, 1, 2], [2, 3, 2]]
    for task in whole["versions"]:
        (file,) = joined.parent.glob(f"samples_{task}_*.jsonl.gz")
        with gzip.open(file, "rt") as f:
            assert [json.loads(line)["doc_id"] for line in f] == [0, 1, 2, 3]


def test_the_leaderboard_pairs_a_joined_run_with_a_whole_one(runs, tmp_path):
    from leaderboard.compare.pairing import mismatches
    from leaderboard.read.runs import read_runs

    merge(runs["first"], runs["second"], tmp_path / "joined")
    (joined,), _ = read_runs(tmp_path / "joined")
    (whole,), _ = read_runs(runs["whole"].parent.parent)
    assert mismatches(whole, joined) == []


def _copy(run: Path, where: Path) -> Path:
    shutil.copytree(run.parent, where)
    return where / run.name


def _edit(results: Path, change) -> None:
    data = json.loads(results.read_text())
    change(data)
    results.write_text(json.dumps(data))


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["config"]["model_args"].update(quant="rtn"), "the runs differ in config.model_args"),
    (lambda d: d["config"]["qx"].update(dtype="bfloat16"), "the runs differ in config.qx.dtype"),
    (lambda d: d["config"].update(batch_size="16"), "the runs differ in config.batch_size"),
    (lambda d: d["configs"]["cf_flip"].update(description="other words"), "cf_flip: the runs' task configurations"),
    (lambda d: d["versions"].update(cf_flip=9.0), "the runs differ in versions"),
    (lambda d: d["results"]["cf_flip"].update({"acc,none": 0.123}), "the samples do not give the stored acc"),
])
def test_runs_that_are_not_parts_of_one_run_are_refused(runs, tmp_path, change, message):
    second = _copy(runs["second"], tmp_path / "second")
    _edit(second, change)
    with pytest.raises(QxError, match=message.replace("(", r"\(")):
        merge(runs["first"], second, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written


def test_a_part_run_from_another_checkout_of_the_tasks_is_joined(runs, tmp_path):
    """lm-eval records where each task's YAML was read (metadata.config_source): a part run from a worktree or
    another machine differs there only; any other metadata still refuses."""
    second = _copy(runs["second"], tmp_path / "second")
    _edit(second, lambda d: [c["metadata"].update(config_source="/elsewhere/" + c["metadata"]["config_source"])
                             for c in d["configs"].values()])
    assert merge(runs["first"], second, tmp_path / "out").limit == 4
    _edit(second, lambda d: d["configs"]["cf_flip"]["metadata"].update(prompts="other"))
    with pytest.raises(QxError, match="cf_flip: the runs' task configurations differ"):
        merge(runs["first"], second, tmp_path / "out2")


def test_overlapping_documents_other_tasks_and_a_full_folder_are_refused(runs, tmp_path, capsys):
    with pytest.raises(QxError, match="document.s. are in both runs"):
        merge(runs["first"], runs["whole"], tmp_path / "a")
    other = _copy(runs["second"], tmp_path / "other")
    _edit(other, lambda d: d["versions"].pop("nle_sim"))
    with pytest.raises(QxError, match="the runs have other tasks"):
        merge(runs["first"], other, tmp_path / "b")
    merge(runs["first"], runs["second"], tmp_path / "c")
    code = main(["merge", str(runs["first"]), str(runs["second"]), "-o", str(tmp_path / "c")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "already holds results" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("change", [lambda d: d["results"].pop("cf_flip"), lambda d: d["n-samples"].pop("nle_sim"),
                                    lambda d: d["configs"].update(cf_flip=[1])])
def test_a_results_file_with_a_task_s_entry_missing_or_mistyped_is_one_line(runs, tmp_path, change):
    second = _copy(runs["second"], tmp_path / "second")
    _edit(second, change)
    with pytest.raises(QxError, match="is not an lm-eval results file"):
        merge(runs["first"], second, tmp_path / "out")


@pytest.mark.parametrize(("line", "message"), [("{not json", "not an lm-eval sample"),
                                              ('{"doc_id": "7"}', "not an lm-eval sample")])
def test_a_samples_line_that_is_not_a_sample_is_one_line(runs, tmp_path, line, message):
    second = _copy(runs["second"], tmp_path / "second")
    (file,) = second.parent.glob("samples_cf_flip_*.jsonl")
    file.write_text(file.read_text() + line + "\n")
    with pytest.raises(QxError, match=message):
        merge(runs["first"], second, tmp_path / "out")


def test_a_run_of_an_older_task_version_is_rescored_first(runs, tmp_path):
    first, second = _copy(runs["first"], tmp_path / "first"), _copy(runs["second"], tmp_path / "second")
    for run in (first, second):
        _edit(run, lambda d: d["versions"].update(cf_flip=4.1))
    with pytest.raises(QxError, match="cf_flip: the runs are version 4.1, qxbench's task is .*rescore"):
        merge(first, second, tmp_path / "out")


@pytest.mark.parametrize(("first", "second", "note"), [
    ("a" * 64, "a" * 64, None), ("a" * 64, None, "the second part records no hash"),
    (None, None, "the first and the second parts record no hash")])
def test_the_parts_quantized_weights_are_compared_where_both_record_them(runs, tmp_path, first, second, note):
    a, b = _copy(runs["first"], tmp_path / "first"), _copy(runs["second"], tmp_path / "second")
    for run, value in ((a, first), (b, second)):
        _edit(run, lambda d, v=value: d["config"]["qx"].update(quant="rtn", quantized_sha256=v))
    done = merge(a, b, tmp_path / "out")
    assert done.note == note if note is None else note in done.note
    joined = json.loads(done.results.read_text())
    assert joined["config"]["qx"].get("quantized_sha256") == (first if first and second else None)  # both or none
    assert joined["qx_merged"].get("weights_unchecked") == done.note  # the file says why it has no hash


def test_a_joined_run_keeps_each_side_s_parts_and_notes(runs, tmp_path):
    """Either side may itself be a joined run: its parts and its note of unchecked weights are kept."""
    a, b = _copy(runs["first"], tmp_path / "first"), _copy(runs["second"], tmp_path / "second")
    earlier = {"parts": [{"results": "results_x.json"}, {"results": "results_y.json"}], "weights_unchecked": "earlier"}
    _edit(a, lambda d: d["config"]["qx"].update(quant="rtn", quantized_sha256="a" * 64))
    _edit(b, lambda d: d.update(qx_merged=earlier) or d["config"]["qx"].update(quant="rtn", quantized_sha256="a" * 64))
    joined = json.loads(merge(a, b, tmp_path / "out").results.read_text())["qx_merged"]
    assert [p["results"] for p in joined["parts"]] == [a.name, "results_x.json", "results_y.json"]
    assert joined["weights_unchecked"] == "earlier"


@pytest.mark.parametrize("value", [12, "ABC", "a" * 63])
def test_a_quantized_sha256_that_is_no_sha256_is_one_line(runs, tmp_path, value):
    a, b = _copy(runs["first"], tmp_path / "first"), _copy(runs["second"], tmp_path / "second")
    for run, v in ((a, "a" * 64), (b, value)):
        _edit(run, lambda d, v=v: d["config"]["qx"].update(quant="rtn", quantized_sha256=v))
    said = rf"^{re.escape(b.name)}: config.qx.quantized_sha256 is {re.escape(repr(value))}: not a sha256"
    with pytest.raises(QxError, match=said):  # naming the file that holds it
        merge(a, b, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_parts_of_other_quantized_weights_are_refused(runs, tmp_path):
    a, b = _copy(runs["first"], tmp_path / "first"), _copy(runs["second"], tmp_path / "second")
    for run, value in ((a, "a" * 64), (b, "b" * 64)):
        _edit(run, lambda d, v=value: d["config"]["qx"].update(quant="rtn", quantized_sha256=v))
    with pytest.raises(QxError, match=r"other quantized weights \(config.qx.quantized_sha256 aaaaaaaaaaaa... vs bbb"):
        merge(a, b, tmp_path / "out")
    assert not (tmp_path / "out").exists()
