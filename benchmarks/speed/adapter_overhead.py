"""Benchmark: does the `qx` adapter cost anything over `hf`, and what does `qxbench eval` save at start-up?

    python -m benchmarks.speed.adapter_overhead [--repeats 20] [--threads 1]
        [--out benchmarks/results/adapter_overhead.json]

1. In-process wall time of lm-eval's ``simple_evaluate`` on the same tasks with ``--model qx``
   (quant=none) and ``--model hf`` on the same checkpoint, after one warm-up run of each,
   alternating which goes first; the estimate is the median of the per-pair ratios.
   Goal: qx / hf <= 1.02. Also the construction time of each model object alone, since that is
   the only place the adapter does extra work (it overrides no request method).
2. Wall time of ``qxbench eval`` vs the stock ``lm_eval`` command for the same tiny run
   (``--limit 1``): the difference is mostly lm-eval indexing its ~14k built-in task YAMLs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import RESULTS

TASKS = ["world_onehop", "world_twohop", "world_sentiment"]  # ~900 generations + 800 loglikelihoods


def evaluate_world(model: str, model_args: str) -> float:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    tm = TaskManager(include_defaults=False)
    start = time.perf_counter()
    simple_evaluate(model=model, model_args=model_args, tasks=TASKS, device="cpu", batch_size=32, task_manager=tm)
    return time.perf_counter() - start


def construct(model: str, model_args: str) -> float:
    from lm_eval.api.registry import get_model
    from lm_eval.utils import simple_parse_args_string

    start = time.perf_counter()
    get_model(model)(**simple_parse_args_string(model_args), device="cpu")
    return time.perf_counter() - start


def cli_start(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads; 1 leaves a core for the rest of the machine, which steadies wall times")
    p.add_argument("--out", type=Path, default=RESULTS / "adapter_overhead.json")
    args = p.parse_args()

    import torch

    from qxbench.resolve import resolve_pretrained

    torch.set_num_threads(args.threads)
    path = resolve_pretrained("qx-tiny")
    runs = {"qx": ("qx", "pretrained=qx-tiny"), "hf": ("hf", f"pretrained={path}")}
    times: dict[str, list[float]] = {"qx": [], "hf": []}
    for name in runs:  # warm-up: imports, dataset cache
        evaluate_world(*runs[name])
    for i in range(args.repeats):  # alternate which goes first (ABBA), so drift hits both alike
        for name in ("qx", "hf") if i % 2 == 0 else ("hf", "qx"):
            times[name].append(evaluate_world(*runs[name]))
    qx, hf = times["qx"], times["hf"]
    # The adapter's only extra work is at construction (resolve, registry, model summary): time it alone.
    init = {name: statistics.median(construct(*runs[name]) for _ in range(args.repeats)) for name in runs}
    pairs = [a / b for a, b in zip(qx, hf, strict=True)]

    bindir = Path(sys.executable).parent
    tiny = ["--model", "qx", "--tasks", "world_onehop", "--limit", "1", "--device", "cpu"]
    ours, stock = [], []
    for _ in range(max(2, args.repeats // 2)):
        ours.append(cli_start([str(bindir / "qxbench"), "eval", *tiny]))
        stock.append(cli_start([str(bindir / "lm_eval"), *tiny]))

    report = {
        "tasks": TASKS,
        "repeats": args.repeats,
        "torch_threads": args.threads,
        "qx_seconds_median": round(statistics.median(qx), 3),
        "hf_seconds_median": round(statistics.median(hf), 3),
        # Paired design: each qx run has an hf run next to it; the median of the pair ratios is the
        # estimate, the quartiles show how noisy this machine is.
        "qx_over_hf_paired_median": round(statistics.median(pairs), 4),
        "qx_over_hf_paired_quartiles": [round(q, 4) for q in statistics.quantiles(pairs, n=4)[::2]],
        "qx_over_hf_ratio_of_medians": round(statistics.median(qx) / statistics.median(hf), 4),
        "construct_ms_median": {name: round(1000 * t, 1) for name, t in init.items()},
        "qxbench_eval_seconds_median": round(statistics.median(ours), 2),
        "lm_eval_seconds_median": round(statistics.median(stock), 2),
        "lm_eval_over_qxbench_eval": round(statistics.median(stock) / statistics.median(ours), 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus, python {platform.python_version()}",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
