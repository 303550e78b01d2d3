"""Data parallelism: ``accelerate launch -m lm_eval --model qx`` with 2 CPU processes (gloo) gives, for every
probe, the same per-document values as one process; a quantized config is made once (rank 0)."""

from __future__ import annotations

import json
import math
import socket
from pathlib import Path

import pytest

from qxbench import distributed
from tests.conftest import console_script, run_cli

PROBES = "cf_flip,nle_sim,memorize,multihop,calib,neurons"


def test_single_process_helpers_are_the_identity():
    assert distributed.all_gather({"a": 1}) == [{"a": 1}]
    assert distributed.agree(True)
    assert not distributed.agree(False)
    assert distributed.accelerator() is None  # not launched: no process group


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(processes: int, args: list[str], cwd: Path, env: dict[str, str]):
    command = [console_script("accelerate"), "launch", "--multi_gpu", "--num_processes", str(processes),
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_port", str(_free_port()), "-m", "lm_eval", *args]
    return run_cli(command, cwd=cwd, env={"ACCELERATE_USE_CPU": "1", **env}, timeout=900)


def _samples(out: Path) -> dict[str, dict[int, dict[str, object]]]:
    found: dict[str, dict[int, dict[str, object]]] = {}
    for path in out.glob("*/samples_*.jsonl"):
        task = path.name.removeprefix("samples_").rsplit("_", 1)[0]
        for line in path.read_text().splitlines():
            sample = json.loads(line)
            docs = found.setdefault(task, {})
            assert sample["doc_id"] not in docs, f"{task}: document {sample['doc_id']} logged twice (a padding copy?)"
            docs[sample["doc_id"]] = {m: sample[m] for m in sample["metrics"]}
    return found


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        fa, fb = float(a), float(b)  # type: ignore[arg-type]
        return (math.isnan(fa) and math.isnan(fb)) or math.isclose(fa, fb, rel_tol=1e-4, abs_tol=1e-5)
    return a == b


@pytest.mark.slow
def test_two_processes_equal_one_for_every_probe(tmp_path):
    env = {"QXBENCH_CACHE": str(tmp_path / "cache"), "QX_VERBOSE": "", "QXBENCH_LOG": ""}  # logs under output_path
    common = ["--model", "qx", "--model_args", "quant=rtn", "--tasks", PROBES, "--limit", "5", "--log_samples"]
    two = _launch(2, [*common, "--output_path", str(tmp_path / "two")], tmp_path, env)
    assert two.returncode == 0, two.stderr[-4000:]
    one = run_cli([console_script("lm_eval"), *common, "--output_path", str(tmp_path / "one")], cwd=tmp_path, env=env)
    assert one.returncode == 0, one.stderr[-4000:]

    single, parallel = _samples(tmp_path / "one"), _samples(tmp_path / "two")
    assert sorted(single) == sorted(parallel) == sorted(PROBES.split(","))
    for task, docs in single.items():
        # 5 documents on 2 ranks: rank 1 got a padding copy, answered once and logged nowhere
        assert sorted(parallel[task]) == sorted(docs) == [0, 1, 2, 3, 4], task
        for doc, metrics in docs.items():
            for name, value in metrics.items():
                assert _same(value, parallel[task][doc][name]), (task, doc, name, value, parallel[task][doc][name])

    # results and the log written once (rank 0); rank 1's own messages beside it; quantized once
    results = list((tmp_path / "two").glob("*/results_*.json"))
    assert len(results) == 1
    assert sorted(p.name for p in (tmp_path / "two").glob("*.log")) == ["qxbench.log", "qxbench.rank1.log"]
    processes = json.loads(results[0].read_text())["config"]["qx"]["processes"]
    assert [(p["rank"], p["quantized"]) for p in processes] == [(0, True), (1, False)]
    assert len(list((tmp_path / "cache").iterdir())) == 1  # one entry, no staging left behind
    assert two.stderr.count("qxbench: library warnings and logs ->") == 1


@pytest.mark.slow
def test_fewer_documents_than_processes_is_one_line(tmp_path):
    out = _launch(2, ["--model", "qx", "--tasks", "neurons", "--limit", "1"], tmp_path, {})
    assert out.returncode != 0
    # each rank ends with the line (the launcher then reports its failed children in its own words)
    assert out.stderr.count("lm_eval: error: neurons: 1 document(s) for 2 processes; each process needs at least "
                            "one (a larger --limit or fewer processes)") == 2, out.stderr[-3000:]
    assert "[rank1]: Traceback" not in out.stderr
    assert "[rank0]: Traceback" not in out.stderr
