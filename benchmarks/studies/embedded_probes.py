"""Benchmark: the four probes on the embedded model, full precision vs a random-init model of the
same shape vs quantized configs, each reported as a paired difference against full precision.

    python -m benchmarks.studies.embedded_probes [--limit N] [--configs fp,random,bnb-nf4,...]
        [--out benchmarks/results/probes.json]

Every number is per-document paired: the mean of (config - fp) over the same documents with a 95 %
bootstrap CI (qxbench.stats.paired_diff). The Markdown table printed at the end is what the task
READMEs quote.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path

from benchmarks.common import evaluate, markdown, paired_table, random_init_checkpoint

TASKS = ["cf_flip", "nle_sim", "memorize", "multihop"]
CONFIGS = {
    "fp": "",
    "random": None,  # filled in with a random-init checkpoint
    "bnb-int8": "quant=bnb-int8",
    "bnb-nf4": "quant=bnb-nf4",
    "gptq-4": "quant=gptq,bits=4",
    "rtn-4": "quant=rtn,bits=4",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/probes.json"))
    args = parser.parse_args()

    from qxbench import __version__

    names = args.configs.split(",")
    tasks = args.tasks.split(",")
    assert names[0] == "fp", "the first config must be fp (the baseline)"
    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            model_args = CONFIGS[name] if name != "random" else f"pretrained={random_init_checkpoint(Path(tmp))}"
            results, per_doc, seconds, _ = evaluate(model_args, args.limit, tasks)
            runs[name] = {"model_args": model_args, "seconds": round(seconds, 1), "results": results,
                          "per_doc": per_doc}
            print(f"{name}: {seconds:.0f} s", flush=True)

    table = paired_table(runs, names, tasks)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "qxbench": __version__, "python": platform.python_version(), "machine": platform.machine(),
        "limit": args.limit, "configs": {n: {k: v for k, v in r.items() if k != "per_doc"} for n, r in runs.items()},
        "paired": table,
    }, indent=1, default=str))

    print(markdown(table, names))


if __name__ == "__main__":
    main()
