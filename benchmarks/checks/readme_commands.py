"""The README's first commands, run verbatim and timed: the main job on the embedded model, and the
real-model ``memorize_lre`` example (SmolLM2-135M-Instruct, a dequantized Q4_1 GGUF as its "full
precision", on the LRE relation it knows: ``country_capital_city``).

    python -m benchmarks.checks.readme_commands   # ~2.5 min on 2 cores; writes benchmarks/results/readme_commands.json

Each command runs from the repository root (its ``runs/`` is gitignored, and removed first so that
nothing is resumed); the JSON records its wall time, exit status, what it printed about its outputs,
its headline metric and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import time

from benchmarks.common import REPO

ROOT = REPO
COMMANDS = {
    "main": "lm_eval --model qx --tasks cf_flip,nle_sim,memorize,multihop --device cpu --batch_size 32 "
            "--output_path runs/first --log_samples",
    "memorize_lre": "lm_eval --model qx --model_args pretrained=smollm2-135m --tasks memorize_lre --metadata "
                    "'{\"lre_path\": \"../shared/data/lre/factual\", \"lre_relations\": \"country_capital_city\"}' "
                    "--limit 20 --batch_size 8 --output_path runs/smollm2-lre --log_samples",
}


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()  # no options: --help only
    out = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                       "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "runs": {}}
    for name, command in COMMANDS.items():
        target = ROOT / command.split("--output_path ")[1].split()[0]
        shutil.rmtree(target, ignore_errors=True)
        load = os.getloadavg()[0]
        start = time.perf_counter()
        done = subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        told = [line for line in done.stderr.splitlines() if "%|" not in line and line.startswith(
            ("qxbench: loading", "qxbench: results", "qxbench: samples", "qxbench: log", "headline", "  "))]
        results = sorted(target.rglob("results_*.json"))
        metrics = json.loads(results[-1].read_text())["results"] if results else {}
        out["runs"][name] = {"command": command, "exit": done.returncode, "wall_seconds": round(seconds, 1),
                             "load_before": round(load, 2), "printed": told,
                             "metrics": {t: {k.removesuffix(",none"): v for k, v in m.items()
                                             if k.endswith(",none")} for t, m in metrics.items()}}
        print(f"{name}: exit {done.returncode}, {seconds:.0f} s", flush=True)
    path = ROOT / "benchmarks" / "results" / "readme_commands.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"-> {path}")


if __name__ == "__main__":
    main()
