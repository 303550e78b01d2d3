"""memorize_lre's recall per LRE relation: how often a model's greedy answer starts with the gold object.

    python -m benchmarks.studies.lre_recall --model gemma3-270m [--per_relation 20] [--relations a,b] [--template 0|all]
                                    [--seed 0] [--full] [--out FILE.json]

Which relations a model completes, so that a memorize_lre / multihop_lre comparison is run on facts
the model knows. The prompts and the rule are memorize_lre's own: each relation's
``prompt_templates[t].format(subject)`` (``lm_eval_tasks/memorize/utils.py: lre_rows``), answered by
the probe's greedy generator (``qxbench.engine.generate.generate``: up to ``RECALL_TOKENS`` new
tokens, cut at the first line break), scored by ``alias_prefix_match`` (the stripped answer starts
with the object, case-sensitive): ``recall``. Beside it, not task metrics: the gold first token's
rank at the answer position (memorize's ``gold_rank``: 1 = the model's top token). By default the
answers are capped at the gold's length (:func:`answers_for`: the same recall, several times faster);
``--full`` generates every one at 32 tokens and adds ``contains`` (the object anywhere in the answer:
the model knows it but says something else first).
The answers are batched by ``--batch_size`` (the sweep's batches differ; a greedy tie could too).

``--per_relation`` facts per relation, drawn with ``random.Random(seed)`` (every fact where the
relation has fewer). Default output: ``benchmarks/results/lre_recall_<model>.json``; a run over some
``--relations`` adds them to the file already there (each run's command is kept). Timings are
wall-clock on whatever machine runs it.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from pathlib import Path

import torch

from benchmarks.common import REPO, RESULTS

SHARED = REPO.parent / "shared"
LRE = SHARED / "data" / "lre" / "factual"


def sample_rows(relation, per_relation: int, seed: int, template: int) -> list[dict]:
    """memorize_lre's rows for one relation (``lre_rows``), ``per_relation`` of them drawn by ``seed``."""
    from lm_eval_tasks.memorize.utils import lre_rows

    rows = lre_rows({"name": relation.name, "prompt_templates": list(relation.templates),
                     "samples": [{"subject": s, "object": o} for s, o in relation.samples]}, relation.source, template)
    if per_relation and len(rows) > per_relation:
        rows = random.Random(f"{seed}:{relation.name}").sample(rows, per_relation)
    return rows


@torch.no_grad()
def gold_ranks(lm, rows: list[dict]) -> list[int]:
    """Rank of the gold object's first token (``lm._first_token``, as memorize's attribution) after each prompt."""
    ranks = []
    for row in rows:
        ids = torch.tensor([lm._ids(row["prompt"])], device=lm.device)
        logits = lm.model(ids).logits[0, -1].float()
        gold = lm._first_token(row["prompt"], row["object"])
        ranks.append(int((logits > logits[gold]).sum()) + 1)
    return ranks


def answers_for(lm, rows: list[dict], full: bool) -> tuple[list[str], int]:
    """memorize_lre's greedy answers, or (``full=False``) the same recall decisions for less: each answer
    capped at the gold's token count + 4, and only the answers a longer one could still turn into a
    match (the stripped capped answer a proper prefix of the gold, or ending in a split character)
    generated again at ``RECALL_TOKENS``. A longer answer only extends the capped one, so the prefix
    rule decides the same; the number regenerated is reported."""
    from qxbench.engine.generate import generate
    from qxbench.lmeval.requests import RECALL_TOKENS

    prompts = [r["prompt"] for r in rows]
    if full:
        return generate(lm, prompts, RECALL_TOKENS, title=rows[0]["relation"]), 0
    caps = [len(lm.tokenizer.encode(" " + r["object"], add_special_tokens=False)) + 4 for r in rows]
    answers = generate(lm, prompts, RECALL_TOKENS, title=rows[0]["relation"], caps=caps)
    open_ = [i for i, (a, r) in enumerate(zip(answers, rows, strict=True))
             if a.endswith("\ufffd") or (len(a.strip()) < len(r["object"]) and r["object"].startswith(a.strip()))]
    if open_:
        for i, a in zip(open_, generate(lm, [prompts[i] for i in open_], RECALL_TOKENS, title="again"), strict=True):
            answers[i] = a
    return answers, len(open_)


def measure(lm, rows: list[dict], full: bool) -> dict:
    from qxbench.metrics.shared import alias_prefix_match

    start = time.perf_counter()
    answers, again = answers_for(lm, rows, full)
    ranks = gold_ranks(lm, rows)
    recall = [alias_prefix_match(a, r["aliases"]) for a, r in zip(answers, rows, strict=True)]
    n = len(rows)
    out = {"n": n, "recall": sum(recall) / n}
    if full:
        out["contains"] = sum(r["object"] in a for a, r in zip(answers, rows, strict=True)) / n
    else:
        out["regenerated_full"] = again
    out |= {
        "gold_top1": sum(r == 1 for r in ranks) / n,
        "gold_rank_mean": sum(ranks) / n,
        "gold_rank_median": sorted(ranks)[n // 2],
        "seconds": round(time.perf_counter() - start, 1),
        "facts": [[r["prompt"], r["object"], a, h, k] for r, a, h, k in zip(rows, answers, recall, ranks, strict=True)],
    }
    return out


def write(out: Path, args, lm, command: str, load_s: float, start: float, stamp: str, results: dict) -> dict:
    report = json.loads(out.read_text()) if out.exists() else {}  # runs over parts of the relations add up
    report |= {
        "machine": f"{platform.machine()}, the shared 2-core CPU (other jobs running), {args.threads} torch threads, "
                   f"torch {torch.__version__}",
        "model": f"{args.model} (full precision = {lm.qx.provenance.get('full_precision', 'n/a')}), float32 CPU",
        "facts": "per relation: [prompt, gold, answer, recall, gold first-token rank]",
        "rule": "recall = alias_prefix_match(engine.generate(prompt, RECALL_TOKENS), [object]): memorize_lre's",
    }
    runs = [r for r in report.get("runs", []) if r.get("started") != stamp]
    report["runs"] = [*runs, {"command": command, "started": stamp, "load_s": round(load_s, 1),
                              "total_s": round(time.perf_counter() - start, 1)}]
    report["relations"] = dict(sorted({**report.get("relations", {}), **results}.items()))
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--per_relation", type=int, default=20, help="facts per relation (0 = all)")
    parser.add_argument("--relations", default="", help="file stems, comma-separated (default: every relation)")
    parser.add_argument("--template", default="0", help="prompt_templates index (memorize's lre_template), or 'all'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--full", action="store_true",
                        help="every answer at RECALL_TOKENS (adds 'contains'; slower); default: capped, same recall")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lre_path", default=str(LRE))
    parser.add_argument("--out", default=None, help="default: benchmarks/results/lre_recall_<model>.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from qxbench.data.lre import parse_names, read_relations
    from qxbench.lmeval.adapter import QXLM

    relations = read_relations(args.lre_path, parse_names(args.relations))
    command = "python -m benchmarks.studies.lre_recall " + " ".join(
        f"--{k} {v}" for k, v in (("model", args.model), ("per_relation", args.per_relation),
                                  ("relations", args.relations), ("template", args.template), ("seed", args.seed))
        if v != "") + (" --full" if args.full else "")
    out = Path(args.out or RESULTS / f"lre_recall_{args.model}.json")
    start, stamp = time.perf_counter(), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    lm = QXLM(pretrained=args.model, device="cpu", batch_size=args.batch_size, reference="none")
    load_s = time.perf_counter() - start
    results: dict[str, dict] = {}
    for relation in relations:
        templates = range(len(relation.templates)) if args.template == "all" else [int(args.template)]
        for t in templates:
            if t >= len(relation.templates):
                continue
            got = measure(lm, sample_rows(relation, args.per_relation, args.seed, t), args.full)
            key = relation.name if args.template != "all" else f"{relation.name}#{t}"
            results[key] = {"template": t, "template_text": relation.templates[t], **got}
            print(f"{key:36s} n={got['n']:3d} recall={got['recall']:.2f} contains={got.get('contains', '-')} "
                  f"top1={got['gold_top1']:.2f} rank_med={got['gold_rank_median']} ({got['seconds']} s)", flush=True)
            # after each relation: a run cut short keeps what it measured
            report = write(out, args, lm, command, load_s, start, stamp, results)
    print(f"wrote {out} in {report['runs'][-1]['total_s']} s")


if __name__ == "__main__":
    main()
