"""The README's real-model table, from the committed runs the published leaderboard is built from.

    python -m benchmarks.tables.readme_real_table [--runs benchmarks/results/runs/smollm2-135m/probes]
        [--metrics cf_flip/acc,nle_sim/cosine,...] [--out benchmarks/results/readme_real_table.json]

The cells are the leaderboard's own (:func:`leaderboard.compare.pairing.build_cells`: paired differences to
full precision over the same documents, 95 % paired-bootstrap intervals, sign-flip p-values, the
not-comparable guards of display.yaml). **Bold**: Benjamini–Hochberg q <= 0.05 across the comparisons
of the printed table (:func:`leaderboard.compare.pairing.apply_fdr` on the shown cells: the table is the
family); perplexity-like metrics as relative change; every number by :func:`leaderboard.fmt.fmt`.
Prints the Markdown table and writes it with the cells (with p and q) as JSON.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from leaderboard.compare.pairing import apply_fdr, build_cells
from leaderboard.display import load_display
from leaderboard.fmt import fmt
from leaderboard.read.runs import read_runs
from leaderboard.render.text import cell_markdown
from qxbench.stats import FDR

METRICS = ("cf_flip/acc,cf_flip/flip_rate,cf_flip/minimality,nle_sim/cosine,nle_sim/rougeL,memorize_lre/recall,"
           "memorize_lre/gold_logprob,memorize_lre/attn_imp,memorize_lre/ffn_imp,memorize_lre/top300_overlap,"
           "multihop_lre/entrec_max,multihop_lre/cnst,multihop_lre/acc_r2,calib_msingh_boolq_choices/acc,"
           "calib_msingh_boolq_choices/brier,neurons_msingh_boolq/salient_sum,neurons_msingh_boolq/salient_union")
CONFIGS = ("bnb-int8-8b", "bnb-nf4-4b", "gptq-4b-g64", "rtn-4b-g64")  # the leaderboard's config names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("benchmarks/results/runs/smollm2-135m/probes"))
    parser.add_argument("--metrics", default=METRICS)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/readme_real_table.json"))
    args = parser.parse_args()
    runs, _ = read_runs(args.runs)
    cells, _ = build_cells(runs, load_display())
    wanted = [tuple(m.split("/", 1)) for m in args.metrics.split(",")]
    configs = args.configs.split(",")
    table = apply_fdr([c for c in cells if (c.task, c.metric) in wanted and c.config in configs + ["fp"]])
    at = {(c.task, c.metric, c.config): c for c in table}
    lines = ["| probe | metric | FP | " + " | ".join(f"{c} − FP" for c in configs) + " |",
             "|---|---|---:|" + "---:|" * len(configs)]
    for task, metric in wanted:
        fp = at.get((task, metric, "fp"))
        if fp is None:
            continue
        shown = [cell_markdown(at[(task, metric, c)]) if (task, metric, c) in at else "" for c in configs]
        lines.append(f"| {task} | `{metric}` | {fmt(fp.value)} | " + " | ".join(shown) + " |")
    print("\n".join(lines))
    args.out.write_text(json.dumps({"runs": str(args.runs), "fdr": FDR, "markdown": "\n".join(lines),
                                    "cells": [asdict(c) for c in table]}, indent=1, default=str))


if __name__ == "__main__":
    main()
