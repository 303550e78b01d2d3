"""Benchmark: the four probes on the embedded model, full precision vs a random-init model of the
same shape vs quantized configs, each reported as a paired difference against full precision.

    python benchmarks/probes.py [--limit N] [--configs fp,random,bnb-nf4,...] [--out benchmarks/results/probes.json]

Every number is per-document paired: the mean of (config - fp) over the same documents with a 95 %
bootstrap CI (qxbench.stats.paired_diff). The Markdown table printed at the end is what the task
READMEs quote.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import shutil
import tempfile
import time
from pathlib import Path

TASKS = ["cf_flip", "nle_sim", "memorize", "multihop"]
CONFIGS = {
    "fp": "",
    "random": None,  # filled in with a random-init checkpoint
    "bnb-int8": "quant=bnb-int8",
    "bnb-nf4": "quant=bnb-nf4",
    "gptq-4": "quant=gptq,bits=4",
    "rtn-4": "quant=rtn,bits=4",
}


def random_init_checkpoint(directory: Path, model: str = "qx-tiny") -> str:
    """``model``'s config and tokenizer with freshly initialised weights (seed 0)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from qxbench.resolve import resolve_pretrained

    src = Path(resolve_pretrained(model))
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(src)).save_pretrained(directory)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"):
        if (src / name).exists():
            shutil.copy(src / name, directory / name)
    return str(directory)


def run(model_args: str, limit: int | None, tasks: list[str], *, metadata: dict | None = None,
        chat: bool = False) -> tuple[dict, dict, float, dict]:
    """lm-eval's results, per-document metric values, seconds (whole call: load, quantize, probes) and
    ``config.qx`` (quantize_seconds, cache_hit: what loading and quantizing took)."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    start = time.perf_counter()
    out = simple_evaluate(model="qx", model_args=model_args, tasks=tasks, device="cpu", batch_size=32, limit=limit,
                          log_samples=True, task_manager=TaskManager(include_defaults=False, metadata=metadata),
                          apply_chat_template=chat)
    per_doc = {t: {s["doc_id"]: {k: _number(s[k]) for k in s["metrics"]} for s in out["samples"][t]} for t in tasks}
    qx = out["config"].get("qx") or {}
    load = {k: qx.get(k) for k in ("quant", "dtype", "quantize_seconds", "cache_hit", "phase_seconds")}
    return out["results"], per_doc, time.perf_counter() - start, load


def _number(value: object) -> float:
    """Per-document metric values; corpus-level ones (pairs, corpus statistics) are not numbers."""
    return float(value) if isinstance(value, int | float) else math.nan


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
            results, per_doc, seconds, _ = run(model_args, args.limit, tasks)
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


def paired_table(runs: dict[str, dict], names: list[str], tasks: list[str]) -> list[dict]:
    """Per task and metric: full precision's value and, per other config, its value and the paired
    difference to full precision over the same documents (95 % bootstrap CI). A task a config did not
    run is left out of that config's cells."""
    from qxbench.stats import PairedDiff, paired_diff

    table = []
    for task in [t for t in tasks if t in runs["fp"]["per_doc"]]:
        base = runs["fp"]["per_doc"][task]
        docs = sorted(base)
        metrics = sorted({m for d in base.values() for m in d})
        for metric in metrics:
            row = {"task": task, "metric": metric, "fp": runs["fp"]["results"][task].get(f"{metric},none")}
            for name in names[1:]:
                if task not in runs[name]["per_doc"]:
                    continue
                cand = runs[name]["per_doc"][task]
                b = [float(base[d].get(metric, math.nan)) for d in docs]
                c = [float(cand.get(d, {}).get(metric, math.nan)) for d in docs]
                diff = paired_diff(b, c)
                value = runs[name]["results"][task].get(f"{metric},none")
                if diff.n == 0:  # a corpus-level metric: the difference of the two values, no interval
                    diff = PairedDiff(value - row["fp"], math.nan, math.nan, 0)
                row[name] = {"value": value, "diff": diff.mean, "low": diff.low, "high": diff.high, "n": diff.n,
                             "excludes_zero": diff.excludes_zero, "p": diff.p}
            table.append(row)
    return table


def markdown(table: list[dict], names: list[str]) -> str:
    """The table the READMEs quote: full precision's value, then each config's paired difference, by the
    one Markdown cell rule (:func:`readme_tables.cell`: bold = BH q <= 0.05 across this table)."""
    from readme_tables import cell, with_q

    from leaderboard.display import fmt, load_display

    display = load_display()
    rows = with_q(table, names[1:], "benchmarks/probes.py")
    lines = ["| task | metric | fp | " + " | ".join(f"{n} − fp [95% CI]" for n in names[1:]) + " |",
             "|---|---|---:|" + "---:|" * (len(names) - 1)]
    for row in rows:
        fp = row["fp"]
        base = fp if display.relative(row["task"], row["metric"]) else None
        lines.append(f"| {row['task']} | {row['metric']} | {fmt(fp) if isinstance(fp, float) else fp} | "
                     + " | ".join(cell(row[n], base) if n in row else "n/a" for n in names[1:]) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
