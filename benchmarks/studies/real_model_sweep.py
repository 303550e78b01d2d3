"""Benchmark: one `qxbench sweep` of a real model (``--model``: SmolLM2-135M-Instruct, its "full precision" =
the GGUF Q4_1 weights dequantized to float32; or Gemma 3 270M base, GGUF Q4_K_M dequantized), the six
probes over real data from ../shared/data, full precision + quantized configs, timed: the whole command,
each config's quantize (or load) seconds and each probe's seconds.

    python -m benchmarks.studies.real_model_sweep --limit 50 [--model gemma3-270m] [--quants none,bnb-int8,...]
        [--compare benchmarks/results/real_model_limit50.json] [--out benchmarks/results/real_model_sweep.json]

The sweep runs as a user would run it (the command is recorded in the results) with an empty
quantized-model cache and an empty attribution cache (temporary ``QXBENCH_CACHE`` and ``QXBENCH_HOME``;
the converted model is linked in), so every quantized config quantizes and memorize's full-precision
reference comes from the sweep's own full-precision run. Documents as in ``benchmarks/studies/real_model.py``.
``--compare``: an earlier ``benchmarks.studies.real_model`` results file of the same documents; the largest difference
of each config's aggregated metrics against it is recorded (the speed work must not move a number).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import markdown, number, paired_table
from benchmarks.studies.real_model import CALIBRATION, MODEL, MODELS, SHARED, TASKS, compose_chains

QUANTS = "none,bnb-int8,bnb-nf4,gptq:bits=4,rtn:bits=4"
LABELS = {"none": "fp", "bnb-int8": "bnb-int8", "bnb-nf4": "bnb-nf4", "gptq-4": "gptq-4", "rtn-4": "rtn-4"}


def sweep_command(limit: int, quants: str, chains: Path, out: Path, model: str = MODEL) -> list[str]:
    data = SHARED / "data"
    metadata = {"lre_path": str(data / "lre" / "factual"), "lre_relations": "country_capital_city,country_language",
                "data_path": str(data / "msingh"), "multihop_lre": {"data_path": str(chains)}}
    return [sys.executable, "-m", "qxbench.cli", "sweep", "--model", model, "--quants", quants,
            "--tasks", ",".join(TASKS), "--limit", str(limit), "--output_path", str(out), "--force",
            "--model_args", CALIBRATION.format(shared=SHARED), "--metadata", json.dumps(metadata)]


def read_config(folder: Path) -> dict:
    """One config's results file and per-document values (from its samples files)."""
    (results,) = sorted(folder.rglob("results_*.json"))
    data = json.loads(results.read_text())
    per_doc: dict[str, dict] = {}
    for task in data["results"]:
        (samples,) = sorted(results.parent.glob(f"samples_{task}_*.jsonl"))
        rows = [json.loads(line) for line in samples.read_text().splitlines()]
        per_doc[task] = {r["doc_id"]: {k: number(r[k]) for k in r["metrics"]} for r in rows}
    qx = data["config"]["qx"]
    return {"results": data["results"], "per_doc": per_doc, "probe_seconds": qx["probe_seconds"],
            "load": {"quant": qx["quant"], "quantize_seconds": qx["quantize_seconds"], "cache_hit": qx["cache_hit"]},
            "evaluation_seconds": round(float(data["total_evaluation_time_seconds"]), 1)}


def changes(mine: dict, earlier: dict) -> dict[str, dict[str, float]]:
    """Per task, each aggregated metric that differs from the earlier run: this run's value minus that one."""
    out: dict[str, dict[str, float]] = {}
    for task, values in mine.items():
        old = earlier.get(task, {})
        for key, value in values.items():
            before = old.get(key)
            if (key.endswith(",none") and "stderr" not in key and isinstance(value, int | float)
                    and isinstance(before, int | float) and not math.isclose(value, before, rel_tol=0, abs_tol=1e-12)):
                out.setdefault(task, {})[key.removesuffix(",none")] = value - before
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--model", default=MODEL, choices=list(MODELS))
    parser.add_argument("--quants", default=QUANTS)
    parser.add_argument("--compare", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None,
                        help="default: benchmarks/results/real_model_sweep[_MODEL].json")
    args = parser.parse_args()
    suffix = "" if args.model == MODEL else f"_{args.model}"
    args.out = args.out or Path(f"benchmarks/results/real_model_sweep{suffix}.json")
    if not (SHARED / "data").is_dir():
        sys.exit(f"{SHARED / 'data'} is absent: set QXBENCH_SHARED to the folder holding data/")
    from qxbench.models.gguf import models_root
    from qxbench.resolve import resolve_pretrained

    resolve_pretrained(args.model)  # converted once, outside the timed sweep (as any earlier use leaves it)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        chains = tmp_path / "chains.csv"
        compose_chains(chains)
        home = tmp_path / "home"
        home.mkdir()
        (home / "models").symlink_to(models_root())
        env = {**os.environ, "QXBENCH_HOME": str(home), "QXBENCH_CACHE": str(tmp_path / "quantized")}
        command = sweep_command(args.limit, args.quants, chains, tmp_path / "runs", args.model)
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True)
        wall = time.perf_counter() - start
        runs = {LABELS.get(d.name, d.name): read_config(d) for d in sorted((tmp_path / "runs").iterdir())
                if d.is_dir()}
    names = ["fp", *sorted(n for n in runs if n != "fp")]
    earlier = json.loads(args.compare.read_text())["configs"] if args.compare else {}
    recorded = [c.replace(str(SHARED), "../shared").replace(str(tmp_path), "TMP") for c in command[1:]]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "qxbench_command": ["python", *recorded], "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "model": f"{args.model} ({MODELS[args.model]})",
        "limit": args.limit, "wall_seconds": round(wall, 1),
        "configs": {n: {"load": runs[n]["load"], "probe_seconds": runs[n]["probe_seconds"],
                        "evaluation_seconds": runs[n]["evaluation_seconds"], "results": runs[n]["results"],
                        **({"changed_vs_compare": changes(runs[n]["results"], earlier[n]["results"])}
                           if n in earlier else {})}
                    for n in names},
        "compare": str(args.compare) if args.compare else None,
        "paired": paired_table(runs, names, list(runs["fp"]["results"])),
    }, indent=1, default=str))
    print(f"sweep: {wall / 60:.1f} min")
    for n in names:
        print(n, runs[n]["load"], runs[n]["probe_seconds"])
    print(markdown(paired_table(runs, names, list(runs["fp"]["results"])), names))


if __name__ == "__main__":
    main()
