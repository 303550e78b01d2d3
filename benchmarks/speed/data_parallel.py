"""Benchmark: one probe in one process against the same run under ``accelerate launch`` with 2 CPU
processes (gloo), on the machine it runs on.

    python -m benchmarks.speed.data_parallel [--task neurons] [--limit 40] [--repeats 2]
        [--out benchmarks/results/data_parallel.json]

Each repeat runs the single-process command and the 2-process command back to back (alternating which
goes first) and times the whole command, start-up and model load included. One process uses all the
machine's cores for torch's threads; under the launcher accelerate gives each process
cores / processes threads, so on a 2-core machine the two runs share the same two cores and little
gain is expected: the point of data parallelism is one process per GPU (or per node).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="neurons")
    p.add_argument("--limit", type=int, default=40)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--model_args", default="pretrained=qx-tiny")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/data_parallel.json"))
    args = p.parse_args()
    bin_dir = Path(sys.executable).parent
    lm_eval = str(bin_dir / "lm_eval") if (bin_dir / "lm_eval").exists() else shutil.which("lm_eval")
    accelerate = str(bin_dir / "accelerate") if (bin_dir / "accelerate").exists() else shutil.which("accelerate")
    run = ["--model", "qx", "--model_args", args.model_args, "--tasks", args.task, "--limit", str(args.limit),
           "--device", "cpu"]
    one = [lm_eval, *run]
    times: dict[str, list[float]] = {"1 process": [], "2 processes": []}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            two = [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                   "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_port()),
                   "-m", "lm_eval", *run]
            order = [("1 process", one, {}), ("2 processes", two, {"ACCELERATE_USE_CPU": "1"})]
            for name, command, env in order if repeat % 2 == 0 else order[::-1]:
                times[name].append(round(_timed(command, env, Path(tmp)), 2))
                print(f"{name}: {times[name][-1]} s", flush=True)
    ratios = [a / b for a, b in zip(times["1 process"], times["2 processes"], strict=True)]
    result = {
        "what": f"lm_eval --model qx --tasks {args.task} --limit {args.limit}, whole command, 1 process vs "
                "accelerate launch --num_processes 2 (gloo, CPU)",
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "model_args": args.model_args,
        "seconds": times,
        "speedup_1_over_2": [round(r, 3) for r in ratios],
        "median_speedup": round(statistics.median(ratios), 3),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
