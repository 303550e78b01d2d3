"""Benchmark: the whole explanation run (cf_flip and nle_sim on their seven real data sets) for one config,
before and after continuous batching (``qxbench.engine.greedy.stream``), in one run.

    python -m benchmarks.speed.explain_run --model qwen2.5-coder-1.5b --model_args dtype=bfloat16 --limit 16
        [--tasks cf_flip_sst2,...] [--out benchmarks/results/explain_run_<model>.json]

"before" is the generation as it was up to this benchmark's commit: each batch of prompts decoded to its
end, its stopped rows leaving it (``greedy.greedy``), the next batch started only then; it is run by
making :func:`qxbench.engine.greedy._joinable` say no, the switch ``stream`` itself takes for a model whose
cache cannot join rows. "after" keeps the batch full. Per task the two run back to back (before, then
after), so that a change in the machine's load falls on both; each is its own lm-eval call
(``benchmarks.speed.explain_speed.run_task``: the probe's own seconds, model load excluded, every answer
recorded). Reported per task: seconds per document and per phase, the speed-up, and how many answers
differ (continuous batching changes which rows share a forward pass, so a bfloat16 answer may change
at a near tie). The totals project the seconds for 100 documents per data set (seconds per document x
100: the issue's target is 25 minutes per config on this 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

from benchmarks.common import RESULTS, run
from benchmarks.speed.bf16_speed import cpu_features
from benchmarks.speed.explain_speed import EXPLAIN, MODELS, compare, run_task

TASKS = ("cf_flip_sst2,cf_flip_ag_news,cf_flip_esnli,cf_flip_healthfc,"
         "nle_sim_esnli,nle_sim_ecqa,nle_sim_healthfc")


def timed(task: str, args: argparse.Namespace, joined: bool) -> dict:
    from qxbench.engine import greedy

    original = greedy._joinable
    if not joined:
        greedy._joinable = lambda model: False
    try:
        return run_task(task, args.limit, args.batch_size, {}, args.model_args, args.model)
    finally:
        greedy._joinable = original


def totals(tasks: dict, label: str) -> dict:
    seconds = sum(t[label]["probe_seconds"] for t in tasks.values())
    per_doc = sum(t[label]["seconds_per_doc"] for t in tasks.values())
    return {"probe_seconds": round(seconds, 1), "projected_minutes_at_100_docs": round(per_doc * 100 / 60, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b", choices=list(MODELS))
    parser.add_argument("--model_args", default="dtype=bfloat16", help="added to pretrained=MODEL")
    parser.add_argument("--limit", type=int, default=16)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--tasks", default=TASKS)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not EXPLAIN.is_dir():
        raise SystemExit(f"{EXPLAIN} is absent: set QXBENCH_SHARED to the folder holding data/explain")
    out = args.out or RESULTS / f"explain_run_{args.model}.json"
    tasks: dict = {}
    for task in args.tasks.split(","):
        before, after = timed(task, args, joined=False), timed(task, args, joined=True)
        tasks[task] = {"before": before, "after": after, **compare({task: after}, {task: before})[task]}
        print(f"{task}: {before['seconds_per_doc']} -> {after['seconds_per_doc']} s/doc "
              f"({tasks[task]['speedup']}x, {tasks[task]['differing_answers']} answers differ)", flush=True)
    summary = {label: totals(tasks, label) for label in ("before", "after")}
    summary["speedup"] = round(summary["before"]["probe_seconds"] / summary["after"]["probe_seconds"], 2)
    record = {"command": "python -m benchmarks.speed.explain_run " + " ".join(
                  f"--{k} {v}" for k, v in vars(args).items() if v not in (None, "") and k != "out"),
              "machine": {**cpu_features(), "cores": os.cpu_count(), "python": platform.python_version()},
              "model": f"{args.model} ({MODELS[args.model]})", "model_args": args.model_args,
              "limit": args.limit, "batch_size": args.batch_size, "summary": summary, "tasks": tasks}
    out.write_text(json.dumps(record, indent=1, default=str))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    run(main)
