"""``qxbench sweep --executor ray``: configs as Ray tasks on a local Ray instance (CPU), a failing config
reported while the other finishes, finished configs skipped, and bad input in one line."""

from __future__ import annotations

import argparse
import json
import socket

import pytest

from leaderboard.sweep.ray_executor import Resources, check_reachable
from qxbench.errors import QxError
from tests.conftest import console_script, run_cli


def _args(**kw) -> argparse.Namespace:
    return argparse.Namespace(**{"ray_cpus": 1.0, "ray_gpus": None, "ray_memory_gb": None, "device": "cpu", **kw})


def test_resources_follow_the_device():
    assert Resources.from_args(_args()).options() == {"num_cpus": 1.0, "num_gpus": 0.0}
    assert Resources.from_args(_args(device="cuda:0")).gpus == 1.0
    assert Resources.from_args(_args(ray_gpus=0.5, ray_memory_gb=2)).options() == {
        "num_cpus": 1.0, "num_gpus": 0.5, "memory": 2 * 2**30}
    with pytest.raises(QxError, match="--ray_cpus=-1 must not be negative"):
        Resources.from_args(_args(ray_cpus=-1))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_address_is_checked_before_ray_starts():
    check_reachable(None)
    with pytest.raises(QxError, match="expected host:port, ray://host:port or auto"):
        check_reachable("nowhere")
    port = _closed_port()
    with pytest.raises(QxError, match=f"cannot reach the Ray cluster at --address ray://127.0.0.1:{port}"):
        check_reachable(f"ray://127.0.0.1:{port}")


def _sweep(tmp_path, *extra: str):
    pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'qxbench[ray]')")
    command = [console_script("qxbench"), "sweep", "--executor", "ray", "--tasks", "memorize", "--limit", "2",
               "--output_path", str(tmp_path / "runs"), *extra]
    return run_cli(command, cwd=tmp_path, env={"QXBENCH_CACHE": str(tmp_path / "cache")})


@pytest.mark.slow
def test_a_local_ray_sweep_goes_on_past_a_failed_config_and_skips_finished_ones(tmp_path):
    # group_size=7 passes the syntax check and fails where quantization starts: a run-time failure
    out = _sweep(tmp_path, "--quants", "none,rtn:group_size=7")
    assert out.returncode == 1, out.stderr[-3000:]
    assert "FAILED rtn-g7 (exit 2): qxbench: error: group_size=7 does not divide in_features=" in out.stderr
    assert "1 of 2 config(s) failed (rtn-g7)" in out.stderr
    assert "done fp in" in out.stdout
    results = list((tmp_path / "runs" / "fp").rglob("results_*.json"))
    assert len(results) == 1
    assert json.loads(results[0].read_text())["results"]["memorize"]
    assert (tmp_path / "runs" / "fp" / "qx_sweep.json").is_file()
    assert not (tmp_path / "runs" / "rtn-g7" / "qx_sweep.json").exists()

    again = _sweep(tmp_path, "--quants", "none", "--site", str(tmp_path / "site"))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "skip fp: results exist" in again.stdout
    assert "Ray tasks" not in again.stdout
    assert (tmp_path / "site" / "index.html").is_file()


@pytest.mark.slow
def test_bad_ray_input_is_one_line(tmp_path):
    port = _closed_port()
    out = _sweep(tmp_path, "--quants", "none", "--address", f"127.0.0.1:{port}")
    assert out.returncode == 2
    assert (out.stderr.strip().splitlines() == [
        f"qxbench: error: cannot reach the Ray cluster at --address 127.0.0.1:{port} (Connection refused); start one "
        "with `ray start --head`, or leave --address out for a local Ray instance"])
    gpu = _sweep(tmp_path, "--quants", "none", "--ray_gpus", "1")
    assert gpu.returncode == 2, gpu.stderr[-3000:]
    assert gpu.stderr.strip().splitlines()[-1] == (
        "qxbench: error: each config asks for 1 GPU(s) (--ray_gpus) but the local Ray instance has 0 in all: "
        "no task could ever start")
    assert not (tmp_path / "runs" / "fp" / "qx_sweep.json").exists()


def test_a_ray_node_that_does_not_start_is_one_line(monkeypatch):
    """Ray raises a bare Exception when its local node does not start in time (seen on a loaded 2-core
    machine): one line naming what failed, not a traceback."""
    ray = pytest.importorskip("ray")
    from leaderboard.sweep import ray_executor

    def timed_out(**_kw):
        raise Exception("The current node timed out during startup. This could happen because ...\nmore")

    monkeypatch.setattr(ray, "init", timed_out)
    with pytest.raises(QxError, match=r"^Ray could not start a local Ray instance: The current node timed out "
                                      r"during startup\. .*--executor local\)$"):
        ray_executor._connect(None)
