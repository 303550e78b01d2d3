"""``qxbench sweep --executor ray [--address ...]``: each (model, config) a Ray task.

Every config of the sweep becomes one task that asks Ray for ``--ray_cpus`` CPUs, ``--ray_gpus`` GPUs
(default: 1 when ``--device`` is cuda) and optionally ``--ray_memory_gb``; Ray places the tasks on the
nodes that have those resources free (on a GPU node, one config per GPU; Ray sets the task's
``CUDA_VISIBLE_DEVICES``). A task runs ``qxbench eval`` in a child process on its node, writing to
``OUTPUT_PATH/<config>/`` as the local sweep does, so ``leaderboard build`` reads the results the same
way: on a cluster, OUTPUT_PATH must be a directory every node sees (a shared filesystem), and every node
needs qxbench installed in the same environment. Without ``--address`` a local Ray instance is started
(the CPUs of this machine) and shut down at the end.

A config that fails is reported with the last line it printed and the others go on; the sweep then
exits 1. A finished config is skipped on re-run (:func:`leaderboard.sweep.plan.plan`). Bad input (an
unreachable address, a resource no node has) ends in one line before any task is submitted: Ray itself
would wait forever for a task that asks for a GPU the cluster lacks.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from leaderboard.sweep.job import Job
from qxbench.errors import QxError, first_line

# Environment a task needs from the driver (cache and log locations, verbosity, offline switches).
FORWARDED = ("QXBENCH_CACHE", "QXBENCH_HOME", "QXBENCH_LOG", "QX_VERBOSE", "HF_HOME", "HF_HUB_OFFLINE",
             "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")


@dataclass(frozen=True)
class Resources:
    """What each config's task asks Ray for."""

    cpus: float = 1.0
    gpus: float = 0.0
    memory_gb: float | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Resources:
        gpus = args.ray_gpus if args.ray_gpus is not None else (1.0 if str(args.device).startswith("cuda") else 0.0)
        res = cls(float(args.ray_cpus), float(gpus), args.ray_memory_gb)
        for flag, value in (("--ray_cpus", res.cpus), ("--ray_gpus", res.gpus), ("--ray_memory_gb", res.memory_gb)):
            if value is not None and (value < 0 or math.isnan(value)):
                raise QxError(f"{flag}={value:g} must not be negative")
        return res

    def options(self) -> dict[str, Any]:
        memory = {"memory": int(self.memory_gb * 2**30)} if self.memory_gb else {}
        return {"num_cpus": self.cpus, "num_gpus": self.gpus, **memory}

    def __str__(self) -> str:
        memory = f", {self.memory_gb:g} GiB" if self.memory_gb else ""
        return f"{self.cpus:g} CPU, {self.gpus:g} GPU{memory} each"


def check_reachable(address: str | None) -> None:
    """One line for an address nothing listens on (Ray itself retries for a minute, then prints a traceback)."""
    if address in (None, "auto"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise QxError(f"--address {address!r}: expected host:port, ray://host:port or auto")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as err:
        raise QxError(f"cannot reach the Ray cluster at --address {address} ({err.strerror or err}); start one "
                      "with `ray start --head`, or leave --address out for a local Ray instance") from None


def _connect(address: str | None) -> Any:
    try:
        import ray
    except ImportError:
        raise QxError("--executor ray needs Ray: pip install 'qxbench[ray]'") from None
    env = {k: os.environ[k] for k in FORWARDED if k in os.environ}
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                 runtime_env={"env_vars": env} if env else None)
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise QxError(f"cannot connect to the Ray cluster at --address {address}: {first_line(err)}") from None
    except Exception as err:  # noqa: BLE001 - Ray raises a bare Exception when its node does not start in time
        what = f"connect to the Ray cluster at --address {address}" if address else "start a local Ray instance"
        raise QxError(f"Ray could not {what}: {first_line(err)} (a loaded machine starts Ray slowly: try again, "
                      "or --executor local)") from None
    return ray


def _check_fits(ray: Any, resources: Resources, address: str | None) -> None:
    total = ray.cluster_resources()
    where = f"the Ray cluster at {address}" if address else "the local Ray instance"
    asks = (("CPU", resources.cpus, "--ray_cpus"), ("GPU", resources.gpus, "--ray_gpus"),
            ("memory", (resources.memory_gb or 0) * 2**30, "--ray_memory_gb"))
    for key, need, flag in asks:
        if need > total.get(key, 0):
            have = total.get(key, 0) / (2**30 if key == "memory" else 1)
            unit = "GiB of memory" if key == "memory" else f"{key}(s)"
            raise QxError(f"each config asks for {need / (2**30 if key == 'memory' else 1):g} {unit} ({flag}) but "
                          f"{where} has {have:g} in all: no task could ever start")


def evaluate(argv: list[str], cwd: str) -> tuple[int, str, float]:
    """Runs on a Ray worker: ``qxbench eval argv`` in a child process; (exit status, last stderr line, seconds)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "qxbench.cli", "eval", *argv], capture_output=True, text=True,
                          cwd=cwd if os.path.isdir(cwd) else None)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return done.returncode, lines[-1] if lines else "", time.perf_counter() - start


def run(jobs: list[Job], address: str | None, resources: Resources) -> int:
    check_reachable(address)
    if not jobs:
        return 0
    ray = _connect(address)
    failed: list[str] = []
    try:
        _check_fits(ray, resources, address)
        task = ray.remote(evaluate).options(**resources.options())
        pending = {task.remote(job.argv, os.getcwd()): job for job in jobs}
        print(f"== {len(jobs)} config(s) as Ray tasks ({resources}): {', '.join(j.label for j in jobs)}", flush=True)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(ready[0])
            try:
                code, line, seconds = ray.get(ready[0])
            except ray.exceptions.RayError as err:  # the worker died (out of memory, node lost)
                code, line, seconds = 1, first_line(err), math.nan
            if code == 0:
                job.finish()
                print(f"done {job.label} in {seconds:.0f} s -> {job.out}", flush=True)
            else:
                failed.append(job.label)
                print(f"FAILED {job.label} (exit {code}): {line} (its log: {job.out / 'qxbench.log'})",
                      file=sys.stderr, flush=True)
    finally:
        ray.shutdown()
    if failed:
        print(f"{len(failed)} of {len(jobs)} config(s) failed ({', '.join(failed)}); the others' results are in "
              "place and a re-run skips them", file=sys.stderr)
        return 1
    return 0
