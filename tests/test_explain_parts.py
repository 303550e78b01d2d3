"""benchmarks.studies.explain_parts: the committed runs grow by a part only when every config and the floor have
one; then each is the run of both parts' documents (--limit END), and the part's samples are gone from parts/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmarks.studies import explain_parts, explain_real
from leaderboard.compare.pairing import mismatches
from leaderboard.read.runs import read_runs
from qxbench.cli import main

TASKS = "cf_flip,nle_sim"
MODEL = "qx-tiny"


def _eval(out: Path, *select: str) -> Path:
    assert main(["eval", "--model", "qx", "--tasks", TASKS, "--batch_size", "8", "--device", "cpu",
                 "--log_samples", "--output_path", str(out), *select]) == 0
    return out / MODEL  # the folder lm-eval writes the run into


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("parts")
    return {"first": _eval(root / "first", "--limit", "2"),
            "second": _eval(root / "second", "--samples", json.dumps({t: [2, 3] for t in TASKS.split(",")}))}


@pytest.fixture()
def layout(made, tmp_path, monkeypatch) -> dict[str, Path]:
    """Committed runs of two configs and the floor (--limit 2), as explain_real lays them out."""
    monkeypatch.setattr(explain_real, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(explain_parts, "PARTS", tmp_path / "parts")
    folders = {"fp": tmp_path / "runs" / MODEL / "explain" / "fp" / MODEL,
               "rtn-4b": tmp_path / "runs" / MODEL / "explain" / "rtn-4b" / MODEL,
               "floor": tmp_path / "runs" / f"{MODEL}-random" / "explain" / f"{MODEL}-random-init"}
    for folder in folders.values():
        shutil.copytree(made["first"], folder)
    return folders


def _args(*extra: str):
    return explain_parts.parse(["merge", "--model", MODEL, "--docs", "2:4", *extra])


def _add_part(tmp_path: Path, made: dict[str, Path], name: str) -> None:
    part = tmp_path / "parts" / MODEL / "explain" / "docs-2-3"
    where = {"floor": tmp_path / "parts" / f"{MODEL}-random" / "explain" / "docs-2-3" / f"{MODEL}-random-init"}
    shutil.copytree(made["second"], where.get(name, part / name / MODEL))


def test_a_part_is_merged_only_when_every_config_and_the_floor_have_it(layout, made, tmp_path, capsys):
    _add_part(tmp_path, made, "fp")
    with pytest.raises(SystemExit, match="still to run: rtn-4b, random-init; merge joins every config at once"):
        explain_parts.merge(_args())
    assert all(len(list(f.glob("results_*.json"))) == 1 for f in layout.values())  # nothing touched
    _add_part(tmp_path, made, "rtn-4b")
    _add_part(tmp_path, made, "floor")
    explain_parts.merge(_args())
    assert "merged (the runs in" in capsys.readouterr().out
    runs, _ = read_runs(tmp_path / "runs" / MODEL / "explain")
    floor, _ = read_runs(tmp_path / "runs" / f"{MODEL}-random" / "explain")
    assert {t.limit for run in runs + floor for t in run.tasks.values()} == {4}
    assert {t.n for run in runs + floor for t in run.tasks.values()} == {4}
    assert mismatches(runs[0], floor[0]) == []  # copies of one run: the joined ones pair
    for folder in layout.values():  # one run per folder: the joined one
        (results,) = folder.glob("results_*.json")
        assert len(json.loads(results.read_text())["qx_merged"]["parts"]) == 2
        assert len(list(folder.glob("samples_*"))) == len(TASKS.split(","))
    assert not list((tmp_path / "parts").rglob("samples_*"))


def test_a_part_must_continue_the_committed_limit(layout, tmp_path):
    args = explain_parts.parse(["run", "--model", MODEL, "--docs", "3:5"])
    with pytest.raises(SystemExit, match="--docs 3:5 continues --limit 3 runs, but .* holds --limit \\['2.0'\\]"):
        explain_parts.run(args)
