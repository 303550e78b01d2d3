"""Benchmark: do memorize's attributions survive bfloat16? The same facts attributed in float32 and in
bfloat16 (Yu & Ananiadou's log-probability increase, qxbench.probes.attribution.attribute), compared.

    python -m benchmarks.studies.bf16_attribution [--model qwen2.5-coder-0.5b] [--limit 20]

``memorize``'s own ``top300_overlap`` cannot show this: a bfloat16 run with ``quant=none`` is its own
reference (the full-precision judge loads in the run's dtype), so its overlap is 1 by construction. Here
both dtypes attribute the first ``--limit`` facts of LRE's country_capital_city and country_language
(``../shared/data/lre/factual``) in one process, and per fact we report: the same attributed token, the
overlap of the two top-300 neuron sets, the difference of the summed attention and FFN sublayer
importances, and, in bfloat16, whether the bounded search still equals dense scoring (its exactness
margin assumes float32 rounding). Writes ``benchmarks/results/bf16_attribution_<model>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from benchmarks.common import REPO

SHARED = Path(os.environ.get("QXBENCH_SHARED") or REPO.parent / "shared")
RELATIONS = "country_capital_city,country_language"


def facts(limit: int) -> list[dict]:
    from lm_eval_tasks.memorize.utils import load_lre

    rows = load_lre(str(SHARED / "data" / "lre" / "factual"), lre_relations=RELATIONS)["test"]
    return [rows[i] for i in range(min(limit, len(rows)))]


def attribute_all(model, tok, docs: list[dict], dense: bool = False) -> tuple[list, float]:  # noqa: ANN001
    import torch

    from qxbench.probes.attribution import AttributionOptions, attribute

    options = AttributionOptions(method="dense" if dense else "bounded")
    out, start = [], time.perf_counter()
    with torch.no_grad():
        for doc in docs:
            ids = tok(doc["prompt"])["input_ids"]
            gold = tok(" " + doc["object"], add_special_tokens=False)["input_ids"][0]
            out += attribute(model, [ids], [gold], options, pad_id=tok.pad_token_id or 0)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--dense", type=int, default=2, help="facts on which bfloat16's bounded search is checked "
                                                             "against dense scoring (minutes each)")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from qxbench.probes.attribution import top_k_overlap
    from qxbench.resolve import resolve_pretrained

    path = resolve_pretrained(args.model)
    tok = AutoTokenizer.from_pretrained(path)
    docs = facts(args.limit)
    runs, seconds = {}, {}
    for dtype in ("float32", "bfloat16"):
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype)).eval()
        runs[dtype], seconds[dtype] = attribute_all(model, tok, docs)
        if dtype == "bfloat16":
            dense, _ = attribute_all(model, tok, docs[: args.dense], dense=True)
            exact = [top_k_overlap(b.top, d.top) for b, d in zip(runs[dtype], dense, strict=False)]
        del model
    rows = []
    for doc, a, b in zip(docs, runs["float32"], runs["bfloat16"], strict=True):
        rows.append({"prompt": doc["prompt"], "object": doc["object"], "same_target": a.target == b.target,
                     "top300_overlap": round(top_k_overlap(b.top, a.top), 4),
                     "attn_imp_diff": round(sum(b.attn_imp) - sum(a.attn_imp), 4),
                     "ffn_imp_diff": round(sum(b.ffn_imp) - sum(a.ffn_imp), 4),
                     "gold_logprob_diff": round(b.gold_logprob - a.gold_logprob, 4)})
    same = [r for r in rows if r["same_target"]]
    summary = {
        "facts": len(rows), "same_target": len(same),
        "top300_overlap_median_same_target": statistics.median(r["top300_overlap"] for r in same) if same else None,
        "top300_overlap_min_same_target": min(r["top300_overlap"] for r in same) if same else None,
        "abs_attn_imp_diff_median": statistics.median(abs(r["attn_imp_diff"]) for r in rows),
        "abs_ffn_imp_diff_median": statistics.median(abs(r["ffn_imp_diff"]) for r in rows),
        "bfloat16_bounded_vs_dense_top300_overlap": exact,
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
    }
    print(json.dumps(summary, indent=1))
    target = REPO / "benchmarks" / "results" / f"bf16_attribution_{args.model}.json"
    target.write_text(json.dumps({"command": f"python -m benchmarks.studies.bf16_attribution --model {args.model} "
                                             f"--limit {args.limit} --dense {args.dense}",
                                  "relations": RELATIONS, "summary": summary, "facts": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
