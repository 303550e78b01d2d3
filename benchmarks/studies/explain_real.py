"""Benchmark: the explainability probes on real data. SmolLM2-135M-Instruct (its "full precision" = the
GGUF Q4_1 weights dequantized to float32), through its chat template, on SST-2, AG News, e-SNLI, ECQA
and HealthFC (../shared/data/explain): full precision vs bnb-int8, bnb-nf4, gptq-4 and rtn-4 (one
`qxbench sweep`), plus a random-init model of the same shape as the floor; paired differences to full
precision with 95 % bootstrap intervals and the not-comparable marks, both from the leaderboard's own
comparison (``leaderboard.compare``); accuracy against each dataset's chance level; the seconds per
probe and config.

    python -m benchmarks.studies.explain_real --limit 50 [--quants none,bnb-int8,bnb-nf4,gptq:bits=4,rtn:bits=4]
        [--tasks cf_flip_sst2,...] [--floor-tasks ...] [--no-random] [--out benchmarks/results/explain_real.json]
        [--model qwen2.5-coder-1.5b --dtype bfloat16]   # another installed model: its own folders and JSON

``--tasks`` are the ones run (by the sweep and, unless ``--floor-tasks`` says otherwise, the floor);
the table covers every variant with runs in the folders (the newest run of each task). An invocation
that remakes fewer than all runs (fewer tasks, ``--quants none,bnb-nf4``, ``--no-random``) keeps the earlier
invocations' commands and seconds (``earlier``, oldest first). A probe whose definition changed is rerun
alone this way, e.g. ``--tasks cf_flip_sst2,cf_flip_ag_news,cf_flip_esnli,cf_flip_healthfc --floor-tasks all
--force``.

The committed runs are protocol 4 (cf_flip 4.6, nle_sim 4.5; older 4.x runs rescored by ``qxbench rescore``);
protocol 3's SmolLM2 runs are kept off the leaderboard in ``benchmarks/results/protocol3/``. A run is never
compared with one of another task version (the leaderboard compares equal versions only). ``--report-only``
recomputes the tables from the committed runs without running a model, recording the limit the runs were
made with.

Runs are written in the committed layout (``benchmarks/results/runs/smollm2-135m/explain/<config>/``,
``/work/coord``'s RESULTS_LAYOUT: samples gzipped afterwards); the random-init floor goes to
``benchmarks/results/runs/smollm2-135m-random/explain``. Configs already run with the same arguments
are skipped by the sweep (``--force`` reruns them).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from benchmarks.common import REPO, random_init_checkpoint

MODEL = "smollm2-135m"
RUNS = Path("benchmarks/results/runs")
DATA = "../shared/data/explain"
FILES = {"cf_flip_sst2": "sst2_validation.jsonl", "cf_flip_ag_news": "ag_news_test.jsonl",
         "cf_flip_esnli": "esnli_test.jsonl", "cf_flip_healthfc": "healthfc.csv",
         "nle_sim_esnli": "esnli_test.jsonl", "nle_sim_ecqa": "ecqa_validation.csv",
         "nle_sim_healthfc": "healthfc.csv"}
RANDOM_NAME = f"{MODEL}-random-init"  # the random floor's model name and run folder (SmolLM2's; see random_name)
QUANTS = "none,bnb-int8,bnb-nf4,gptq:bits=4,rtn:bits=4"
CALIBRATION = "calibration=../shared/data/msingh/piqa.csv,calib_column=prompt,calib_samples=64"


def random_name(model: str) -> str:
    return f"{model}-random-init"


def model_args(args: argparse.Namespace, extra: str) -> str:
    """``extra`` plus ``dtype=`` where the run asks for another than float32 (recorded in config.qx)."""
    return ",".join([extra, *([f"dtype={args.dtype}"] if args.dtype != "float32" else [])])


def layout(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    """The runs' folder, the floor's and the default results JSON: SmolLM2 in float32 keeps the committed
    names (``runs/smollm2-135m/explain``, ``explain_real.json``); another model or dtype gets its own."""
    suffix = "" if args.dtype == "float32" else f"-{args.dtype}"
    out = Path("benchmarks/results") / ("explain_real.json" if (args.model, suffix) == (MODEL, "")
                                        else f"explain_real_{args.model}{suffix}.json")
    return RUNS / args.model / f"explain{suffix}", RUNS / f"{args.model}-random" / f"explain{suffix}", out


def metadata(tasks: list[str]) -> dict:
    """Every task reads its own file; prompts through the chat template (the sweep has no flag for it)."""
    return {"apply_chat_template": True, **{t: {"data_path": f"{DATA}/{FILES[t]}"} for t in tasks}}


def selection(args: argparse.Namespace, tasks: list[str], *, sweep: bool) -> list[str]:
    """The documents run: the first ``--limit``, or with ``args.docs`` (``START:END``, :mod:`explain_parts`) those
    documents of every task (``qxbench sweep --docs``; lm-eval's ``--samples`` for ``qxbench eval``)."""
    docs = getattr(args, "docs", None)
    if docs is None:
        return ["--limit", str(args.limit)]
    from qxbench.preflight import docs_samples

    return ["--docs", docs] if sweep else ["--samples", docs_samples(docs, tasks)]


def sweep(args: argparse.Namespace, tasks: list[str], out: Path) -> list[str]:
    command = [sys.executable, "-m", "qxbench.cli", "sweep", "--model", args.model, "--quants", args.quants,
               "--tasks", ",".join(tasks), *selection(args, tasks, sweep=True), "--batch_size", str(args.batch_size),
               "--model_args", model_args(args, CALIBRATION), "--metadata", json.dumps(metadata(tasks)),
               "--output_path", str(out)]
    subprocess.run(command + (["--force"] if args.force else []), check=True, cwd=REPO)
    return command


def random_floor(args: argparse.Namespace, tasks: list[str], out: Path) -> list[str]:
    """The random-init model of the model's shape and tokenizer, evaluated as its own reference. It is
    run from a temporary folder as ``pretrained=<model>-random-init`` (a relative path), so the
    run names the model that, not a temporary path (``config.qx.model`` pairs the leaderboard's rows)."""
    data = {t: {"data_path": str((REPO / v["data_path"]).resolve())} if isinstance(v, dict) else v
            for t, v in metadata(tasks).items()}
    target = (REPO / out).resolve()  # one folder, whatever the caller's working directory
    with tempfile.TemporaryDirectory() as tmp:
        name = random_name(args.model)
        random_init_checkpoint(Path(tmp) / name, args.model)
        command = [sys.executable, "-m", "qxbench.cli", "eval", "--model", "qx", "--model_args",
                   model_args(args, f"pretrained={name},reference=none"), "--tasks", ",".join(tasks),
                   *selection(args, tasks, sweep=False), "--batch_size", str(args.batch_size), "--device", "cpu",
                   "--log_samples",
                   "--output_path", str(target), "--metadata", json.dumps(data)]
        if target.exists():
            shutil.rmtree(target)
        subprocess.run(command, check=True, cwd=tmp)
    return command


def gzip_samples(folder: Path) -> None:
    for path in folder.rglob("samples_*.jsonl"):
        with path.open("rb") as src, gzip.open(f"{path}.gz", "wb", compresslevel=9) as dst:
            shutil.copyfileobj(src, dst)
        path.unlink()


def read(folder: Path) -> list:
    from leaderboard.read.runs import read_runs

    runs, _ = read_runs(folder)
    return runs


def chance(tasks: list[str]) -> dict[str, float]:
    """1 / the number of labels of each task's first document (every document has the same count)."""
    from qxbench.data.classify import ADAPTERS

    labels = {"sst2": 2, "ag_news": 4, "esnli": 3, "ecqa": 5, "healthfc": 3}
    assert set(labels) <= set(ADAPTERS)
    return {t: round(1 / labels[t.split("_", 2)[2]], 4) for t in tasks}


def table(runs: list, floor: list, tasks: list[str], model: str = MODEL) -> list[dict]:
    """The leaderboard's cells: every quantized config (and the random floor) against full precision.
    The marks control the false discovery rate across the quantized configs' comparisons; the floor's
    (a reference point, not a hypothesis: nearly all of them differ) are adjusted as a family of their own."""
    from leaderboard.compare.pairing import build_cells, compare_task
    from leaderboard.display import load_display

    display = load_display()
    cells, _ = build_cells(runs, display)
    fp = next(r for r in runs if r.is_fp)  # "fp", or "fp-bfloat16" with --dtype
    floors = [c for run in floor for task, result in run.tasks.items() if task in fp.tasks
              for c in compare_task(model, "random-init", task, result, fp.tasks[task], display)]
    return by_family([c for c in cells + floors if c.task in tasks])


def by_family(cells: list) -> list[dict]:
    """The cells with their BH q-values: the quantized configs' comparisons one family, the floor's another."""
    from leaderboard.compare.pairing import apply_fdr

    floor = [c for c in cells if c.config == "random-init"]
    return [asdict(c) for c in apply_fdr([c for c in cells if c.config != "random-init"]) + apply_fdr(floor)]


def seconds(folder: Path, key: str = "probe_seconds") -> dict[str, dict[str, float]]:
    """Per config, the run's ``config.qx[key]``: seconds per probe (``probe_seconds``) or per phase
    (``phase_seconds``: classify, rewrite, ...; recorded by runs made since qxbench records it)."""
    out = {}
    for path in sorted(folder.rglob("results_*.json")):
        data = json.loads(path.read_text())
        config = path.relative_to(folder).parts[0]
        out.setdefault(config, {}).update(data["config"]["qx"].get(key) or {})
    return out


def markdown(cells: list[dict], tasks: list[str], chances: dict[str, float]) -> str:
    from leaderboard.compare.cell import Cell
    from leaderboard.fmt import fmt
    from leaderboard.render.text import cell_markdown

    found = {x["config"] for x in cells}
    fp = next((c for c in sorted(found) if c == "fp" or c.startswith("fp-")), "fp")  # fp-bfloat16 with --dtype
    configs = [c for c in (fp, "random-init") if c in found] + sorted(found - {fp, "random-init"})
    lines = ["| task | metric | chance | " + " | ".join(f"{c}" if c == fp else f"{c} − fp" for c in configs) + " |",
             "|---|---|---:|" + "---:|" * len(configs)]
    for task in tasks:
        for metric in sorted({c["metric"] for c in cells if c["task"] == task}):
            row = [task, f"`{metric}`", fmt(chances[task]) if metric == "acc" else ""]
            for config in configs:
                cell = next((c for c in cells if (c["task"], c["metric"], c["config"]) == (task, metric, config)), None)
                if cell is None:
                    row.append("")
                else:
                    row.append(fmt(cell["value"]) if config == fp else cell_markdown(Cell(**cell)))
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


# The README's metrics where the runs have them: label_leak_rate is 3.x's; 4.x has agree_fp (its headline),
# the valid answers' share and the kinds that moved most under quantization in the committed runs (stubs,
# leaks, restated labels). Closeness (minimality) is over valid flips only in 4.x, NaN where a model writes
# none (SmolLM2): it is in the full table (``markdown``).
README_METRICS = {"cf_flip": ("acc", "agree_fp", "flip_rate_ref", "label_leak_rate", "rewrite_valid", "rewrite_stub",
                              "rewrite_leak"),
                  "nle_sim": ("acc", "bertscore_minilm_f1", "expl_valid", "expl_restates", "insert_flip")}


def condensed(cells: list[dict]) -> list[dict]:
    """The README's table: the headline metrics only, the marks' BH family being the shown quantized
    comparisons (the floor's again a family of its own)."""
    from leaderboard.compare.cell import Cell

    return by_family([Cell(**c) for c in cells if c["metric"] in README_METRICS["_".join(c["task"].split("_")[:2])]])


def examples(folder: Path, tasks: list[str], per_task: int = 3) -> dict[str, list[dict]]:
    """The first documents of each variant from the full-precision run: input, label, answer, metrics."""
    out: dict[str, list[dict]] = {}
    for task in tasks:
        files = sorted((folder / "fp").rglob(f"samples_{task}_*.jsonl*"))
        if not files:
            continue
        opened = gzip.open if files[-1].suffix == ".gz" else open
        with opened(files[-1], "rt", encoding="utf-8") as f:
            rows = [json.loads(line) for line in f.read().splitlines()][:per_task]
        out[task] = [{"doc_id": r["doc_id"], "context": r["doc"]["context"], "text": r["doc"]["text"],
                      "context_name": r["doc"]["context_name"],
                      "choices": r["doc"]["choices"], "gold": r["doc"]["choices"][r["doc"]["label"]],
                      "response": str(r["resps"][0][0]),
                      "metrics": {k: r[k] for k in r["metrics"]}} for r in rows]
    return out


def earlier(before: dict, commands: dict, remade: bool) -> dict:
    """The earlier invocations whose runs the table may still read: every one recorded, oldest first, unless
    this one remade every run (``remade``: every variant, every default config and the floor). An invocation
    with fewer configs or tasks (``--quants none,bnb-nf4``) leaves the others' runs, and their record, in place."""
    if remade:
        return {}
    kept = list(before.get("earlier", []))
    if before.get("commands") and before["commands"] != commands:
        entry = {k: before[k] for k in ("commands", "wall_seconds", "limit") if k in before}
        if entry not in kept:
            kept.append(entry)
    return {"earlier": kept} if kept else {}


def run_limit(runs: list, floor: list) -> int:
    """The one ``--limit`` every run was made with (what ``--report-only`` records, whatever its own
    ``--limit`` says); runs made with different limits are not one table."""
    limits = {t.limit for run in runs + floor for t in run.tasks.values()}
    if len(limits) != 1 or None in limits:
        raise SystemExit(f"the runs were made with --limit {sorted(map(str, limits))}: one table needs one limit")
    return int(limits.pop())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--quants", default=QUANTS)
    parser.add_argument("--tasks", default=",".join(FILES))
    parser.add_argument("--floor-tasks", default=None, help="the random-init floor's tasks ('all': every "
                        "variant; default: --tasks); its folder is replaced")
    parser.add_argument("--no-random", action="store_true", help="leave out the random-init floor")
    parser.add_argument("--report-only", action="store_true",
                        help="run nothing: recompute the table and examples from the committed runs (and --out)")
    parser.add_argument("--skip-random-if-done", action="store_true",
                        help="keep a random-init run already in its folder (a resumed benchmark)")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--batch_size", type=int, default=32, help="the sweep's default (decoding is faster in "
                        "larger batches on the CPU: each step reads every weight once)")
    parser.add_argument("--model", default=MODEL, help="an installed model (pretrained=), e.g. qwen2.5-coder-1.5b")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"),
                        help="full precision's and every config's compute dtype")
    parser.add_argument("--out", type=Path, default=None, help="default: benchmarks/results/explain_real.json "
                        "(SmolLM2, float32), else explain_real_<model>[-<dtype>].json")
    args = parser.parse_args()
    os.chdir(REPO)
    if not Path(DATA).is_dir():
        sys.exit(f"{DATA} is absent (run from the repository beside ../shared)")
    tasks = args.tasks.split(",")
    floor_tasks = list(FILES) if args.floor_tasks == "all" else (args.floor_tasks or args.tasks).split(",")
    folder, floor_folder, out = layout(args)
    args.out = args.out or out
    before = json.loads(args.out.read_text()) if args.out.is_file() else {}
    if args.report_only:  # the runs are there: recompute the table, keep the commands and times that made them
        commands, wall = before["commands"], before["wall_seconds"]
    else:
        start = time.perf_counter()
        commands = {"sweep": sweep(args, tasks, folder)}
        swept = time.perf_counter() - start
        if not args.no_random and not (args.skip_random_if_done and (floor_folder / random_name(args.model)).is_dir()):
            commands["random-init"] = random_floor(args, floor_tasks, floor_folder)
        wall = {"sweep": round(swept, 1), "total": round(time.perf_counter() - start, 1)}
    runs = read(folder)
    floor = read(floor_folder) if not args.no_random else []
    remade = not args.report_only and set(tasks) >= set(FILES) and args.quants == QUANTS and not args.no_random
    tasks = [t for t in FILES if any(t in r.tasks for r in runs)]  # every variant run, the newest of each
    chances = chance(tasks)
    cells = table(runs, floor, tasks, args.model)
    shown = examples(folder, tasks)
    for f in (folder, floor_folder):
        gzip_samples(f)
    from qxbench import __version__

    args.out.write_text(json.dumps({
        "qxbench": __version__, "python": platform.python_version(), "cpus": os.cpu_count(),
        "machine": "shared 2-core CPU (other jobs running: seconds are noisy)",
        "model": (f"{MODEL} (SmolLM2-135M-Instruct; full precision = GGUF Q4_1 dequantized), chat template"
                  if args.model == MODEL else f"{args.model} (full precision: as config.qx.provenance says), "
                  "chat template"), "dtype": args.dtype,
        "limit": run_limit(runs, floor), "batch_size": before.get("batch_size", args.batch_size) if args.report_only
        else args.batch_size, "tasks": tasks, "commands": commands, "chance": chances,
        "wall_seconds": wall, **earlier(before, commands, remade),
        "probe_seconds": {**seconds(folder), **{f"random-init/{k}": v for k, v in seconds(floor_folder).items()}},
        "phase_seconds": {**seconds(folder, "phase_seconds"),
                          **{f"random-init/{k}": v for k, v in seconds(floor_folder, "phase_seconds").items()}},
        "examples": shown, "cells": cells, "markdown": markdown(cells, tasks, chances),
        "markdown_readme": markdown(condensed(cells), tasks, chances),
    }, indent=1, default=str))
    print(markdown(cells, tasks, chances))


if __name__ == "__main__":
    main()
