"""Model size: SmolLM2-135M-Instruct (Llama) beside Gemma 3 270M on the same documents.

    python -m benchmarks.studies.model_size [--out benchmarks/results/model_size.json]

Reads the committed six-probe runs of both models (``benchmarks/results/runs/<model>/probes``, all at
``--limit 50``) and SmolLM2's ``memorize_lre`` rerun on Gemma's two LRE relations
(``benchmarks/results/size/smollm2-135m``, written by ``--run``), so that memorize compares the same
facts. Per metric it gives, with 95 % paired-bootstrap intervals and sign-flip p-values
(:func:`qxbench.stats.paired_diff`), paired over the documents both models ran (checked by lm-eval's
``doc_hash``):

- at full precision, Gemma − SmolLM2;
- per quantized config (matched by method and bits; SmolLM2's groups are 64, Gemma's 128), each
  model's own change (quantized − full precision) and the gap between the two changes
  (Gemma's − SmolLM2's, per document).

Both "full precision" models are dequantized GGUF files (SmolLM2 Q4_1, Gemma Q4_K_M). The two
models differ in architecture, training data and instruction tuning as well as in size: this is a
reading of two points, not a scaling law. Corpus-level counts (``salient_union``) have no interval.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import platform
import subprocess
import sys
from pathlib import Path

from benchmarks.common import REPO
from leaderboard.fmt import fmt
from leaderboard.read.results import Run
from leaderboard.read.runs import read_runs
from qxbench.stats import FDR, bh_testable_or_none, paired_diff

SMALL, LARGE = "smollm2-135m", "gemma3-270m"
RUNS = REPO / "benchmarks/results/runs"
SIZE = REPO / "benchmarks/results/size"
RELATIONS = "country_largest_city,landmark_on_continent"  # Gemma's memorize_lre relations
METRICS = ("cf_flip/minimality", "nle_sim/cosine", "nle_sim/rougeL", "memorize_lre/recall",
           "memorize_lre/top300_overlap", "multihop_lre/acc_r2", "calib_msingh_boolq_choices/acc",
           "neurons_msingh_boolq/salient_sum", "neurons_msingh_boolq/salient_union")
CORPUS = {"neurons_msingh_boolq/salient_union"}  # one count per run: no per-document pairs
QUANTS = ("bnb-int8", "bnb-nf4", "gptq-4b", "rtn-4b")


def key(run: Run) -> str:
    return "fp" if run.quant == "none" else f"{run.quant}-{run.bits}b" if run.quant in ("gptq", "rtn") else run.quant


def runs_of(model: str) -> dict[str, Run]:
    """config -> run; SmolLM2's memorize_lre from its rerun on Gemma's relations."""
    found = {key(r): r for r in read_runs(RUNS / model / "probes")[0]}
    if model == SMALL:
        for run in read_runs(SIZE / model)[0]:
            base = found[key(run)]
            found[key(run)] = dataclasses.replace(base, tasks={**base.tasks, **run.tasks})
    return found


def hashes(folder: Path, task: str) -> dict[int, str]:
    """doc_id -> lm-eval's doc_hash, from the newest samples file of ``task`` under ``folder``."""
    files = sorted(folder.rglob(f"samples_{task}_20*.jsonl*"))
    if not files:
        return {}
    opener = gzip.open if files[-1].suffix == ".gz" else open
    with opener(files[-1], "rt") as rows:
        return {int(r["doc_id"]): r["doc_hash"] for r in map(json.loads, rows)}


def values(run: Run, task: str, metric: str) -> dict[int, float]:
    result = run.tasks.get(task)
    if result is None or result.per_doc is None:
        return {}
    return {d: v[metric] for d, v in result.per_doc.items() if metric in v}


def diff(base: dict[int, float], cand: dict[int, float], docs: list[int]) -> dict:
    d = paired_diff([base.get(i, float("nan")) for i in docs], [cand.get(i, float("nan")) for i in docs])
    return {"mean": d.mean, "low": d.low, "high": d.high, "n": d.n, "p": d.p, "nonzero": d.nonzero}


def cell(d: dict) -> str:
    """``+0.12 [+0.05, +0.20]``, bold when its q (Benjamini–Hochberg across the table's tests) <= FDR."""
    text = f"{fmt(d['mean'], signed=True)} [{fmt(d['low'], signed=True)}, {fmt(d['high'], signed=True)}]"
    return f"**{text}**" if d.get("q") is not None and d["q"] <= FDR else text


def row_of(name: str, small: dict[str, Run], large: dict[str, Run]) -> dict:
    task, metric = name.split("/")
    if name in CORPUS:
        return {"metric": name, "corpus": {m: {q: r.tasks[task].metrics.get(metric) for q, r in runs.items()
                                               if task in r.tasks} for m, runs in ((SMALL, small), (LARGE, large))}}
    rerun = task == "memorize_lre"  # SmolLM2's from benchmarks/results/size
    same = [hashes((SIZE / SMALL if rerun else RUNS / SMALL / "probes") / "fp", task),
            hashes(RUNS / LARGE / "probes" / "fp", task)]
    docs = sorted(i for i in same[0] if same[1].get(i) == same[0][i])
    assert docs, f"{name}: the two models share no document"
    fp_small, fp_large = values(small["fp"], task, metric), values(large["fp"], task, metric)
    row: dict = {"metric": name, "documents": len(docs), "unshared_documents": len(set(same[0]) ^ set(same[1])),
                 "fp": {SMALL: sum(fp_small[i] for i in docs) / len(docs),
                        LARGE: sum(fp_large[i] for i in docs) / len(docs), "gap": diff(fp_small, fp_large, docs)}}
    for q in QUANTS:
        q_small, q_large = values(small[q], task, metric), values(large[q], task, metric)
        d_small = {i: q_small[i] - fp_small[i] for i in docs if i in q_small}
        d_large = {i: q_large[i] - fp_large[i] for i in docs if i in q_large}
        row[q] = {SMALL: diff(fp_small, q_small, docs), LARGE: diff(fp_large, q_large, docs),
                  "gap": diff(d_small, d_large, docs)}
    return row


def rerun_small() -> list[str]:
    """SmolLM2's memorize_lre on Gemma's relations, every config (skips those already run)."""
    command = [sys.executable, "-m", "qxbench.cli", "sweep", "--model", SMALL, "--quants",
               "none,bnb-int8,bnb-nf4,gptq:bits=4,rtn:bits=4", "--tasks", "memorize_lre", "--limit", "50",
               "--model_args", "calibration=../shared/data/msingh/piqa.csv,calib_column=prompt,calib_samples=64",
               "--metadata", json.dumps({"lre_path": "../shared/data/lre/factual", "lre_relations": RELATIONS}),
               "--output_path", str((SIZE / SMALL).relative_to(REPO))]
    subprocess.run(command, check=True, cwd=REPO)
    return command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="store_true", help="first run SmolLM2's memorize_lre on Gemma's relations")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/model_size.json"))
    args = parser.parse_args()
    command = rerun_small() if args.run else None
    small, large = runs_of(SMALL), runs_of(LARGE)
    rows = [row_of(name, small, large) for name in METRICS]
    tests = [d for r in rows if "fp" in r for d in (r["fp"]["gap"], *(r[q][m] for q in QUANTS
                                                                      for m in (SMALL, LARGE, "gap")))]
    qs = bh_testable_or_none([d["p"] for d in tests], [d.get("nonzero") for d in tests])
    for d, q in zip(tests, qs, strict=True):
        d["q"] = q  # None: too few documents differ to test (qxbench.stats.smallest_p)
    lines = ["| metric | SmolLM2 FP | Gemma FP | Gemma − SmolLM2 at FP | "
             + " | ".join(f"{q}: Gemma's Δ − SmolLM2's Δ" for q in QUANTS) + " |",
             "|---|---:|---:|---:|" + "---:|" * len(QUANTS)]
    for r in rows:
        task, metric = r["metric"].split("/")
        if "corpus" in r:
            c = r["corpus"]
            lines.append(f"| {task} `{metric}` (count) | {fmt(c[SMALL]['fp'])} | {fmt(c[LARGE]['fp'])} | "
                         f"{fmt(c[LARGE]['fp'] - c[SMALL]['fp'], signed=True)} | "
                         + " | ".join(fmt((c[LARGE][q] - c[LARGE]['fp']) - (c[SMALL][q] - c[SMALL]['fp']), signed=True)
                                      for q in QUANTS) + " |")
        else:
            lines.append(f"| {task} `{metric}` | {fmt(r['fp'][SMALL])} | {fmt(r['fp'][LARGE])} | "
                         f"{cell(r['fp']['gap'])} | "
                         + " | ".join(cell(r[q]["gap"]) for q in QUANTS) + " |")
    print("\n".join(lines))
    invocation = "python -m benchmarks.studies.model_size" + (" --run" if args.run else "")
    args.out.write_text(json.dumps({"command": invocation,
                                    "rerun": command, "machine": f"{platform.machine()}, 2-core CPU",
                                    "group_sizes": {SMALL: 64, LARGE: 128}, "rows": rows, "markdown": "\n".join(lines)},
                                   indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
