"""Benchmark: the all-layer multihop probe pass vs a plain forward pass over the same prompts.

    python -m benchmarks.speed.probe_cost [--repeats 10] [--threads 2] [--out benchmarks/results/probe_cost.json]

For each model, over all 320 two-hop chains of the embedded world (3 prompts per chain: the
subject-cut prompt, the two-hop prompt and the one-hop prompt), batches of 32 chains:

- plain: one batched forward pass per batch, last-position log-softmax (what a one-token
  loglikelihood needs), no hooks;
- probe: ``qxbench.probes.multihop.probe`` on the same batches (hooks on every block, EntRec
  logit lens at every layer, CnstScore);
- lm-eval: ``QXLM.loglikelihood`` on (prompt, first answer word) for the same prompts, for scale.

Runs alternate, the estimate is the median of per-repeat ratios. Goal: probe / plain <= 1.3.
Memorize's neuron attribution is timed separately (it is O(neurons x vocab) by definition).

Also the ``neurons`` task's streaming activation statistics (dead neurons + redundancy co-moments,
first/middle/last layer) against a plain forward pass over the same 400 review prompts.
Goal: stats / plain <= 1.2. Integrated gradients are not part of it (20 forward+backward passes
per layer by definition).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch


def _batches(lm, rows, size=32):
    for start in range(0, len(rows), size):
        part = rows[start:start + size]
        cut = [lm._ids(r["r2(r1(e1)).subject_cut.prompt"]) for r in part]
        two = [lm._ids(r["r2(r1(e1)).prompt"]) for r in part]
        one = [lm._ids(r["r2(e2).prompt"]) for r in part]
        bridge = [lm._first_token(r["r2(r1(e1)).subject_cut.prompt"], r["e2.value"]) for r in part]
        yield cut, two, one, bridge


@torch.no_grad()
def plain(model, batches) -> float:
    start = time.perf_counter()
    for cut, two, one, _ in batches:
        seqs = [*cut, *two, *one]
        width = max(map(len, seqs))
        ids = torch.zeros(len(seqs), width, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, s in enumerate(seqs):
            ids[i, :len(s)] = torch.tensor(s)
            mask[i, :len(s)] = 1
        logits = model(input_ids=ids, attention_mask=mask).logits
        torch.log_softmax(logits[torch.arange(len(seqs)), mask.sum(1) - 1].float(), -1)
    return time.perf_counter() - start


def probe(model, batches) -> float:
    from qxbench.probes.multihop import probe as run

    start = time.perf_counter()
    for cut, two, one, bridge in batches:
        run(model, cut, two, one, bridge)
    return time.perf_counter() - start


def lmeval(lm, rows) -> float:
    from lm_eval.api.instance import Instance

    args = [(r[c], " " + r[v].split()[0]) for r in rows
            for c, v in (("r2(r1(e1)).subject_cut.prompt", "e2.value"), ("r2(r1(e1)).prompt", "e3.value"),
                         ("r2(e2).prompt", "e3.value"))]
    start = time.perf_counter()
    lm.loglikelihood([Instance("loglikelihood", {}, a, 0) for a in args], disable_tqdm=True)
    return time.perf_counter() - start


@torch.no_grad()
def plain_texts(model, texts, size=32) -> float:
    from qxbench.interp.internals import pad_batch

    start = time.perf_counter()
    for i in range(0, len(texts), size):
        ids, mask, _ = pad_batch(texts[i:i + size], 0, torch.device("cpu"))
        model(input_ids=ids, attention_mask=mask)
    return time.perf_counter() - start


def neuron_stats(model, texts, size=32) -> float:
    from qxbench.probes.neurons import NeuronOptions, corpus_stats

    start = time.perf_counter()
    corpus_stats(model, texts, NeuronOptions(), size)
    return time.perf_counter() - start


def ratio_of(fast, slow, repeats: int) -> dict:
    fast(), slow()  # warm-up
    times = {"plain": [], "probe": []}
    for i in range(repeats):
        for which in (("plain", "probe") if i % 2 == 0 else ("probe", "plain")):
            times[which].append((fast if which == "plain" else slow)())
    ratios = [p / q for p, q in zip(times["probe"], times["plain"], strict=True)]
    return {"plain_s": statistics.median(times["plain"]), "probe_s": statistics.median(times["probe"]),
            "ratio_median": statistics.median(ratios), "ratio_quartiles": statistics.quantiles(ratios, n=4)[::2]}


def bigger_random_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=32000, hidden_size=512, intermediate_size=1536, num_hidden_layers=8,
                         num_attention_heads=8, num_key_value_heads=8, max_position_embeddings=256)
    return LlamaForCausalLM(config).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/probe_cost.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from qxbench.lmeval.adapter import QXLM
    from qxbench.probes.attribution import attribute, down_weights
    from qxbench.world.data import read_rows

    lm = QXLM(device="cpu", batch_size=32)
    rows = read_rows("twohop")
    batches = list(_batches(lm, rows))
    report = {"python": platform.python_version(), "torch": torch.__version__, "threads": args.threads,
              "chains": len(rows), "models": {}}
    reviews = [lm._ids(f"Review: {r['text']}\nSentiment:") for r in read_rows("reviews")]
    report["neurons"] = {}
    for name, model in (("qx-tiny (4 layers, vocab 978)", lm.model),
                        ("random Llama (8 layers, hidden 512, vocab 32000)", bigger_random_llama())):
        report["models"][name] = ratio_of(lambda m=model: plain(m, batches), lambda m=model: probe(m, batches),
                                          args.repeats)
        print(name, "multihop", report["models"][name], flush=True)
        report["neurons"][name] = ratio_of(lambda m=model: plain_texts(m, reviews),
                                           lambda m=model: neuron_stats(m, reviews), args.repeats)
        print(name, "neurons", report["neurons"][name], flush=True)

    ll = [lmeval(lm, rows) for _ in range(3)]
    report["qx-tiny lm-eval loglikelihood_s"] = statistics.median(ll)

    facts = read_rows("facts")
    prompts = [lm._ids(f["prompt"]) for f in facts]
    targets = [lm._first_token(f["prompt"], f["object"]) for f in facts]
    weights = down_weights(lm.model)
    start = time.perf_counter()
    for s in range(0, len(prompts), 32):
        attribute(lm.model, prompts[s:s + 32], targets[s:s + 32], weights=weights)
    report["qx-tiny memorize attribution_s (208 facts, 3072 neurons each)"] = time.perf_counter() - start
    print(json.dumps(report, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
