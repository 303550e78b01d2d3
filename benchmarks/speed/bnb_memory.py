"""Peak resident memory and seconds of an explanation run at full precision and bnb-int8 on a CPU, with
oneDNN's default primitive cache and with the cap the ``qx`` model sets
(``ONEDNN_PRIMITIVE_CACHE_CAPACITY``, :func:`qxbench.lmeval.adapter.cap_onednn_cache`, set at import, after
torch): bitsandbytes' CPU int8 matmul is
``torch._int_mm``, which oneDNN runs, keeping a primitive per input shape (docs/qwen.md, "bnb-int8's
memory on a CPU"). Each variant is one ``qxbench eval`` of the four cf_flip tasks in its own process;
its peak is that process's ``ru_maxrss``. A quantized config loads its full-precision judge beside it
(``reference=auto``, :mod:`qxbench.lmeval.adapter`); the last variant turns the judge off
(``reference=none``: ``agree_fp``, ``flip_rate_ref`` and ``ppl_ref`` are then not measured), so its
difference to the one before is the judge's share of bnb-int8's peak.

    python -m benchmarks.speed.bnb_memory [--model qwen2.5-coder-0.5b] [--limit 16] \
        [--out benchmarks/results/bnb_memory.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import REPO

TASKS = {"cf_flip_sst2": "sst2_validation.jsonl", "cf_flip_ag_news": "ag_news_test.jsonl",
         "cf_flip_esnli": "esnli_test.jsonl", "cf_flip_healthfc": "healthfc.csv"}
# (name, quant, ONEDNN_PRIMITIVE_CACHE_CAPACITY in the environment; None: unset, so the qx model caps it,
# qxbench.lmeval.adapter.cap_onednn_cache; "1024": oneDNN's own default, as before that cap; reference=)
VARIANTS = (("full precision, oneDNN's default cache", "none", "1024", "auto"),
            ("full precision, qxbench's cap", "none", None, "auto"),
            ("bnb-int8, oneDNN's default cache", "bnb-int8", "1024", "auto"),
            ("bnb-int8, qxbench's cap", "bnb-int8", None, "auto"),
            ("bnb-int8, qxbench's cap, no full-precision judge", "bnb-int8", None, "none"))
# a child process that runs one command and prints its own children's peak resident set (KiB on Linux)
PEAK = "import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; " \
       "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"


def command(model: str, quant: str, reference: str, limit: int, out: Path) -> list[str]:
    metadata = {"apply_chat_template": True,
                **{t: {"data_path": f"../shared/data/explain/{f}"} for t, f in TASKS.items()}}
    return [str(Path(sys.executable).parent / "qxbench"), "eval", "--model", "qx", "--model_args",
            f"pretrained={model},quant={quant},reference={reference},dtype=bfloat16", "--tasks", ",".join(TASKS),
            "--device", "cpu",
            "--batch_size", "32", "--limit", str(limit), "--metadata", json.dumps(metadata), "--output_path", str(out)]


def measure(name: str, argv: list[str], cache: str | None, reference: str) -> dict:
    env = dict(os.environ)
    env.pop("ONEDNN_PRIMITIVE_CACHE_CAPACITY", None)
    if cache is not None:
        env["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = cache
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, *argv], env=env, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    rc, peak_kib = map(int, done.stdout.split()[-2:])
    if rc:
        raise SystemExit(f"{name}: qxbench eval exited {rc}: {done.stderr.strip().splitlines()[-1:]}")
    return {"variant": name, "oneDNN_cache": cache, "reference": reference, "peak_gb": round(peak_kib / 2**20, 2),
            "seconds": round(seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--limit", type=int, default=16)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/bnb_memory.json")
    args = parser.parse_args()
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for i, (name, quant, cache, reference) in enumerate(VARIANTS):
            argv = command(args.model, quant, reference, args.limit, Path(scratch) / str(i))
            rows.append(measure(name, argv, cache, reference))
            print(rows[-1], flush=True)
    result = {"command": f"python -m benchmarks.speed.bnb_memory --model {args.model} --limit {args.limit}",
              "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
              "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rows": rows}
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
