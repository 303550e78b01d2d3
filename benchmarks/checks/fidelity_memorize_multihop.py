"""memorize and multihop against the reference implementations' golden values, and the cost of
memorize's exact bounded search against scoring every neuron.

    python -m benchmarks.checks.fidelity_memorize_multihop [--dense-facts 1] [--out FILE.json]
    python -m benchmarks.checks.fidelity_memorize_multihop --model gemma3-270m [--facts 8] [--dense-facts 1]

Needs ../shared/golden (computed by zepingyu0512/neuron-attribution and
google-deepmind/latent-multi-hop-reasoning on SmolLM2-135M-Instruct) and the smollm2 extra. Writes,
per quantity, the largest |qxbench - reference| over the golden inputs (what the task READMEs'
fidelity tables quote), and seconds per fact for memorize (bounded vs dense, batch 1 vs the golden
batch, SmolLM2 and the embedded model; on SmolLM2 also batch 1 vs batch 32 over 32 LRE facts from
../shared/data/lre, and dense vs bounded over ``--dense-facts`` of them: same top 300, largest score
difference, same count at the reference's threshold). Timings are wall-clock on whatever machine runs it: compare
ratios from one run only.

``--model gemma3-270m`` (no golden values exist for it): the LRE part only, on ``--facts`` facts,
written to ``results/fidelity_memorize_multihop_gemma3-270m.json``: the bounded search against
scoring every one of its 36,864 neurons through a 262,144-token unembedding.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from benchmarks.common import REPO, RESULTS

SHARED = REPO.parent / "shared"


def _max(pairs) -> float:
    return max((abs(a - b) for a, b in pairs), default=float("nan"))


def memorize(model, rows, dense_facts: int) -> dict:
    from qxbench.probes.attribution import AttributionOptions, attribute

    prompts = [r["prompt_token_ids"] for r in rows]
    gold = [r["reference_outputs"]["gold_first_token_id"] for r in rows]
    start = time.perf_counter()
    got = attribute(model, prompts, gold)
    batch_s = (time.perf_counter() - start) / len(rows)
    start = time.perf_counter()
    for p, g in zip(prompts, gold, strict=True):
        attribute(model, [p], [g])
    single_s = (time.perf_counter() - start) / len(rows)
    out = {"facts": len(rows), "target_token_equal": 0, "attn_imp_max_abs_diff": 0.0, "ffn_imp_max_abs_diff": 0.0,
           "neuron_score_max_abs_diff": 0.0, "tau_max_abs_diff": 0.0, "top300_overlap_min": 1.0,
           "count_ge_tau_equal": 0, "neurons_scored_mean": sum(a.scored for a in got) / len(got)}
    for r, a in zip(rows, got, strict=True):
        ref = r["reference_outputs"]
        refs = {(x[0], x[1]): x[2] for x in ref["top300_ffn_neurons"]}
        mine = {(x[0], x[1]): x[2] for x in a.top}
        common = refs.keys() & mine.keys()
        out["target_token_equal"] += a.target == ref["target_token_id"]
        out["attn_imp_max_abs_diff"] = max(out["attn_imp_max_abs_diff"],
                                           _max(zip(a.attn_imp, ref["attn_log_increase_per_layer"], strict=True)))
        out["ffn_imp_max_abs_diff"] = max(out["ffn_imp_max_abs_diff"],
                                          _max(zip(a.ffn_imp, ref["ffn_log_increase_per_layer"], strict=True)))
        out["neuron_score_max_abs_diff"] = max(out["neuron_score_max_abs_diff"],
                                               _max((mine[k], refs[k]) for k in common))
        out["tau_max_abs_diff"] = max(out["tau_max_abs_diff"], abs(a.tau - ref["tau_300th_score"]))
        out["top300_overlap_min"] = min(out["top300_overlap_min"], len(common) / len(refs))
        out["count_ge_tau_equal"] += a.at_tau == ref["n_neurons_with_score_ge_tau"]
    timing = {"bounded_s_per_fact_batch": batch_s, "bounded_s_per_fact_batch1": single_s}
    if dense_facts:
        start = time.perf_counter()
        dense = attribute(model, prompts[:dense_facts], gold[:dense_facts], AttributionOptions(method="dense"))
        timing["dense_s_per_fact"] = (time.perf_counter() - start) / dense_facts
        timing["dense_over_bounded"] = timing["dense_s_per_fact"] / batch_s
        timing["dense_equals_bounded_top300"] = all(
            {x[:2] for x in d.top} == {x[:2] for x in b.top} for d, b in zip(dense, got, strict=False))
    return {"fidelity": out, "timing": timing}


def lre_timing(lm, dense_facts: int, n_facts: int = 32) -> dict:
    """Batch 1 vs batch ``n_facts`` (bounded) and dense vs bounded on LRE facts (each relation's first template)."""
    from qxbench.data.lre import read_relations
    from qxbench.probes.attribution import AttributionOptions, attribute, down_weights

    relations = read_relations(SHARED / "data" / "lre" / "factual", ("country_capital_city", "country_language"))
    facts = [(r.templates[0].format(s), o) for r in relations for s, o in r.samples][:n_facts]
    prompts = [lm.tokenizer(p)["input_ids"] for p, _ in facts]
    gold = [lm.tokenizer(" " + o, add_special_tokens=False)["input_ids"][0] for _, o in facts]
    n = len(facts)
    start = time.perf_counter()
    bounded = attribute(lm.model, prompts, gold)
    out = {"facts": n, f"bounded_s_per_fact_batch{n}": (time.perf_counter() - start) / n,
           "neurons": sum(w.shape[1] for w in down_weights(lm.model)), "vocab": lm.model.config.vocab_size}
    start = time.perf_counter()
    for p, g in zip(prompts, gold, strict=True):
        attribute(lm.model, [p], [g])
    out["bounded_s_per_fact_batch1"] = (time.perf_counter() - start) / len(facts)
    out[f"batch1_over_batch{n}"] = out["bounded_s_per_fact_batch1"] / out[f"bounded_s_per_fact_batch{n}"]
    out["neurons_scored_mean"] = sum(a.scored for a in bounded) / len(bounded)
    if dense_facts:
        taus = [[a.tau] for a in bounded[:dense_facts]]
        start = time.perf_counter()
        dense = attribute(lm.model, prompts[:dense_facts], gold[:dense_facts], AttributionOptions(method="dense"),
                          thresholds=taus)
        out["dense_facts"] = dense_facts
        out["dense_s_per_fact"] = (time.perf_counter() - start) / dense_facts
        out[f"dense_over_bounded_batch{n}"] = out["dense_s_per_fact"] / out[f"bounded_s_per_fact_batch{n}"]
        again = attribute(lm.model, prompts[:dense_facts], gold[:dense_facts], thresholds=taus)
        pairs = list(zip(dense, again, strict=True))
        out["same_top300"] = all({x[:2] for x in d.top} == {x[:2] for x in b.top} for d, b in pairs)
        out["top300_score_max_abs_diff"] = max(
            _max((x[2], {y[:2]: y[2] for y in b.top}.get(x[:2], float("inf"))) for x in d.top)
            for d, b in pairs)
        out["same_count_at_tau"] = all(d.at_least == b.at_least for d, b in pairs)
    return out


def embedded_timing(dense_facts: int) -> dict:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from qxbench.probes.attribution import AttributionOptions, attribute
    from qxbench.resolve import resolve_pretrained
    from qxbench.world.data import read_rows

    path = resolve_pretrained("qx-tiny")
    model, tok = AutoModelForCausalLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)
    facts = read_rows("facts")[:32]
    prompts = [tok(f["prompt"])["input_ids"] for f in facts]
    gold = [tok(" " + f["object"], add_special_tokens=False)["input_ids"][0] for f in facts]
    out = {}
    for name, opts, n in (("bounded", AttributionOptions(), 32), ("dense", AttributionOptions(method="dense"), 32)):
        start = time.perf_counter()
        attribute(model, prompts[:n], gold[:n], opts)
        out[f"{name}_s_per_fact_batch32"] = (time.perf_counter() - start) / n
    start = time.perf_counter()
    for p, g in zip(prompts, gold, strict=True):
        attribute(model, [p], [g])
    out["bounded_s_per_fact_batch1"] = (time.perf_counter() - start) / len(prompts)
    out["dense_over_bounded"] = out["dense_s_per_fact_batch32"] / out["bounded_s_per_fact_batch32"]
    return out


def multihop(lm, rows) -> dict:
    from lm_eval.api.instance import Instance

    got = lm.qx_multihop([Instance("qx_multihop", {}, (r["r2(r1(e1)).prompt"], r), 0) for r in rows])
    out = {"chains": len(rows), "bridge_token_equal": 0, "entrec_max_abs_diff": 0.0, "cnst_max_abs_diff": 0.0}
    for r, res in zip(rows, got, strict=True):
        ref = r["reference_outputs"]
        token = lm._first_token(r["r2(r1(e1)).subject_cut.prompt"], r["e2.value"])
        out["bridge_token_equal"] += token == ref["bridge_first_token_id"]
        entrec = _max(zip(res.entrec, ref["entrec_per_layer"], strict=True))
        out["entrec_max_abs_diff"] = max(out["entrec_max_abs_diff"], entrec)
        out["cnst_max_abs_diff"] = max(out["cnst_max_abs_diff"], abs(res.cnst - ref["cnstscore"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dense-facts", type=int, default=2, help="facts scored densely on SmolLM2 (~30 s each)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", default="smollm2-135m", choices=["smollm2-135m", "gemma3-270m"])
    parser.add_argument("--facts", type=int, default=32, help="LRE facts timed (batch of all vs batch 1)")
    parser.add_argument("--out", default=None, help="default: results/fidelity_memorize_multihop[_MODEL].json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from qxbench.lmeval.adapter import QXLM

    if args.model != "smollm2-135m":
        results = RESULTS
        out = Path(args.out or results / f"fidelity_memorize_multihop_{args.model}.json")
        lm = QXLM(pretrained=args.model, device="cpu", batch_size=8, reference="none")
        report = {
            "machine": f"{platform.machine()}, {args.threads} torch threads, torch {torch.__version__}",
            "model": f"{args.model} ({lm.qx.provenance['full_precision']}), float32 CPU",
            "command": f"python -m benchmarks.checks.fidelity_memorize_multihop --model {args.model} "
                       f"--facts {args.facts} "
                       f"--dense-facts {args.dense_facts}",
            f"memorize_{args.model}_lre": lre_timing(lm, args.dense_facts, args.facts),
        }
        out.write_text(json.dumps(report, indent=1) + "\n")
        print(json.dumps(report, indent=1))
        return
    args.out = args.out or str(RESULTS / "fidelity_memorize_multihop.json")

    lm = QXLM(pretrained="smollm2-135m", device="cpu", batch_size=8, reference="none")
    mem_rows = json.loads((SHARED / "golden" / "memorize.json").read_text())["rows"]
    hop_rows = json.loads((SHARED / "golden" / "multihop.json").read_text())["rows"]
    report = {
        "machine": f"{platform.machine()}, {args.threads} torch threads, torch {torch.__version__}",
        "model": "smollm2-135m (SmolLM2-135M-Instruct, dequantized Q4_1), float32 CPU",
        "memorize_smollm2": memorize(lm.model, mem_rows, args.dense_facts),
        "memorize_smollm2_lre": lre_timing(lm, args.dense_facts),
        "memorize_qx_tiny_timing": embedded_timing(args.dense_facts),
        "multihop_smollm2": multihop(lm, hop_rows),
    }
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
