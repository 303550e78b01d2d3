"""What the benchmark scripts share: the repository's paths, one lm-eval run of the ``qx`` model with its
per-document values, a random-init checkpoint (the floor), the paired-difference table the READMEs quote,
and the one-line error exit of a script (:func:`run`).

Scripts are run from the repository root as ``python -m benchmarks.<kind>.<name>``; see docs/benchmarks.md.
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from qxbench.errors import QxError

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def run(main: Callable[[], object]) -> None:
    """``main()``; a :class:`~qxbench.errors.QxError` (a logged answer that does not read, a bad input) is
    one line on stderr, named by the running script, and exit status 2."""
    try:
        main()
    except QxError as err:
        name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "benchmark"
        sys.stderr.write(f"{name}: error: {err}\n")
        raise SystemExit(2) from None


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


def evaluate(model_args: str, limit: int | None, tasks: list[str], *, metadata: dict | None = None,
             chat: bool = False) -> tuple[dict, dict, float, dict]:
    """lm-eval's results, per-document metric values, seconds (whole call: load, quantize, probes) and
    ``config.qx`` (quantize_seconds, cache_hit: what loading and quantizing took)."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    start = time.perf_counter()
    out = simple_evaluate(model="qx", model_args=model_args, tasks=tasks, device="cpu", batch_size=32, limit=limit,
                          log_samples=True, task_manager=TaskManager(include_defaults=False, metadata=metadata),
                          apply_chat_template=chat)
    per_doc = {t: {s["doc_id"]: {k: number(s[k]) for k in s["metrics"]} for s in out["samples"][t]} for t in tasks}
    qx = out["config"].get("qx") or {}
    load = {k: qx.get(k) for k in ("quant", "dtype", "quantize_seconds", "cache_hit", "phase_seconds")}
    return out["results"], per_doc, time.perf_counter() - start, load


def number(value: object) -> float:
    """Per-document metric values; corpus-level ones (pairs, corpus statistics) are not numbers."""
    return float(value) if isinstance(value, int | float) else math.nan


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
                             "excludes_zero": diff.excludes_zero, "p": diff.p, "nonzero": diff.nonzero}
            table.append(row)
    return table


def markdown(table: list[dict], names: list[str]) -> str:
    """The table the READMEs quote: full precision's value, then each config's paired difference, by the
    one Markdown cell rule (:func:`benchmarks.tables.readme_tables.cell`: bold = BH q <= 0.05 across this table)."""
    from benchmarks.tables.readme_tables import cell, with_q
    from leaderboard.display import load_display
    from leaderboard.fmt import fmt

    display = load_display()
    rows = with_q(table, names[1:], "benchmarks/studies/embedded_probes.py")
    lines = ["| task | metric | fp | " + " | ".join(f"{n} − fp [95% CI]" for n in names[1:]) + " |",
             "|---|---|---:|" + "---:|" * (len(names) - 1)]
    for row in rows:
        fp = row["fp"]
        base = fp if display.relative(row["task"], row["metric"]) else None
        lines.append(f"| {row['task']} | {row['metric']} | {fmt(fp) if isinstance(fp, float) else fp} | "
                     + " | ".join(cell(row[n], base) if n in row else "n/a" for n in names[1:]) + " |")
    return "\n".join(lines)


def once(benchmark, fn, rounds: int = 3, warmup: int = 1):
    """For the pytest-benchmark guards (benchmarks/test_bench_*.py): ``fn`` timed ``rounds`` times, one call
    each, after ``warmup`` untimed calls; its last result."""
    return benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=warmup)
