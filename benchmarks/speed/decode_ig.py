"""Benchmark: the two exact speed-ups of the real-model sweep's largest costs on SmolLM2-135M-Instruct
("full precision" = its GGUF Q4_1 weights dequantized), each against the computation it replaced,
in one run.

    python -m benchmarks.speed.decode_ig [--limit 50] [--docs 10] [--out benchmarks/results/decode_ig.json]

1. Generation. The four generating probes (cf_flip's rewrites, nle_sim's explanations, memorize's and
   multihop's greedy answers) run on their sweep documents (``--limit``) with every batch that
   :func:`qxbench.engine.greedy.greedy` decodes recorded; each recorded batch is then decoded again
   by ``model.generate`` with the same stopping rule (a ``StoppingCriteria`` over
   :class:`~qxbench.engine.greedy.LineEnd`), which keeps every row until the last one stops. Reported:
   rows, rows whose tokens differ (must be 0) and seconds of each, per probe.
2. Integrated gradients. ``neurons``' attribution of ``--docs`` BoolQ prompts at layers 0, 15 and 29
   (the probe's default first, middle, last), each document's greedy target: one
   :func:`~qxbench.probes.salient.layer_integrated_gradients` call for the three layers (two endpoint
   passes per target token shared by the layers) against one
   :func:`~qxbench.probes.salient.integrated_gradients` call per layer (two endpoint passes each, as
   captum's ``LayerIntegratedGradients`` runs them). Reported: largest difference (must be 0.0) and
   seconds.

Timings are wall-clock on whatever machine runs it: compare ratios from one run only.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import evaluate
from benchmarks.studies.real_model import MODEL, SHARED, compose_chains, task_metadata

GENERATING = ("cf_flip", "nle_sim", "memorize_lre", "multihop_lre")


def generate_rows(model, tokenizer, ids, mask, max_tokens: int) -> list[list[int]]:
    """``model.generate`` with the probes' stopping rule: each row's tokens up to its stop."""
    from transformers import StoppingCriteria, StoppingCriteriaList

    from qxbench.engine.greedy import LineEnd

    eos = tokenizer.eos_token_id

    class Rows(StoppingCriteria):
        def __init__(self) -> None:
            self.rule, self.length = LineEnd(tokenizer, len(ids), eos), [max_tokens] * len(ids)
            self.done = [False] * len(ids)

        def __call__(self, input_ids, scores, **_):  # noqa: ANN001
            for row, token in enumerate(input_ids[:, -1].tolist()):
                if not self.done[row] and self.rule(row, token):
                    self.done[row], self.length[row] = True, input_ids.shape[1] - ids.shape[1]
            return torch.tensor(self.done, device=input_ids.device)

    stop = Rows()
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_tokens, do_sample=False,
                             pad_token_id=eos, eos_token_id=eos, temperature=None, top_p=None, top_k=None,
                             stopping_criteria=StoppingCriteriaList([stop]))
    rows = [tokens[:n] for tokens, n in zip(out[:, ids.shape[1]:].tolist(), stop.length, strict=True)]
    return rows


def generation(limit: int) -> dict:
    import qxbench.engine.greedy as greedy_module

    recorded: list[tuple] = []
    real = greedy_module.greedy

    def recording(model, ids, mask, max_tokens, stop):
        start = time.perf_counter()
        rows = real(model, ids, mask, max_tokens, stop)
        recorded.append((model, ids, mask, max_tokens, rows, time.perf_counter() - start))
        return rows

    from transformers import AutoTokenizer

    from qxbench.resolve import resolve_pretrained

    tokenizer = AutoTokenizer.from_pretrained(resolve_pretrained(MODEL))
    out: dict[str, dict] = {}
    greedy_module.greedy = recording
    try:
        with tempfile.TemporaryDirectory() as tmp:
            chains = Path(tmp) / "chains.csv"
            compose_chains(chains)
            for task in GENERATING:
                recorded.clear()
                evaluate(f"pretrained={MODEL},reference=none", limit, [task], metadata=task_metadata(
                    task, chains, "country_capital_city,country_language"))
                entry = {"batches": len(recorded), "rows": 0, "rows_differing": 0, "tokens": 0,
                         "greedy_s": 0.0, "generate_s": 0.0, "generate_steps_x_rows": 0}
                for model, ids, mask, max_tokens, rows, seconds in recorded:
                    start = time.perf_counter()
                    theirs = generate_rows(model, tokenizer, ids, mask, max_tokens)
                    entry["generate_s"] += time.perf_counter() - start
                    entry["greedy_s"] += seconds
                    entry["rows"] += len(rows)
                    entry["rows_differing"] += sum(a != b for a, b in zip(rows, theirs, strict=True))
                    entry["tokens"] += sum(len(r) for r in rows)
                    entry["generate_steps_x_rows"] += max(len(r) for r in theirs) * len(rows)
                entry["generate_over_greedy"] = entry["generate_s"] / entry["greedy_s"]
                out[task] = {k: round(v, 3) if isinstance(v, float) else v for k, v in entry.items()}
                print(task, out[task], flush=True)
    finally:
        greedy_module.greedy = real
    total_g = sum(e["generate_s"] for e in out.values())
    total_n = sum(e["greedy_s"] for e in out.values())
    return {"per_probe": out, "generate_s": round(total_g, 1), "greedy_s": round(total_n, 1),
            "generate_over_greedy": round(total_g / total_n, 3)}


def integrated_gradients(docs: int) -> dict:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from qxbench.probes import salient as sal
    from qxbench.probes.neurons import act_modules
    from qxbench.resolve import resolve_pretrained

    path = resolve_pretrained(MODEL)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    with open(SHARED / "data" / "msingh" / "boolq.csv", newline="") as f:
        prompts = [row["prompt"] for row in csv.DictReader(f)][:docs]
    layers = act_modules(model, [0, 15, 29])
    shared_s = separate_s = 0.0
    largest = 0.0
    targets_total = 0
    for prompt in prompts:
        ids = tokenizer.encode(prompt, add_special_tokens=False)
        with torch.no_grad():
            token = int(model(torch.tensor([ids])).logits[0, -1].argmax())
        targets = sal.target_tokens(tokenizer, ids, token) or [token]
        targets_total += len(targets)
        start = time.perf_counter()
        together = sal.layer_integrated_gradients(model, layers, ids, targets)
        shared_s += time.perf_counter() - start
        start = time.perf_counter()
        apart = [sal.integrated_gradients(model, act, ids, targets, block=block) for block, act in layers]
        separate_s += time.perf_counter() - start
        largest = max(largest, *(float((a - b).abs().max()) for a, b in zip(together, apart, strict=True)))
    return {"docs": len(prompts), "target_tokens": targets_total, "layers": [0, 15, 29], "steps": 50,
            "shared_endpoints_s": round(shared_s, 2), "per_layer_s": round(separate_s, 2),
            "per_layer_over_shared": round(separate_s / shared_s, 3), "max_abs_diff": largest,
            "profile_one_prompt": _profile(model, tokenizer, layers, prompts[0])}


def _profile(model, tokenizer, layers, prompt: str) -> dict:
    """Where one prompt's attribution goes: the matrix products' share of the CPU time and their rate
    (torch.profiler's FLOP count), against a plain float32 product of the MLP's shape at the same batch."""
    from torch.profiler import ProfilerActivity, profile

    from qxbench.probes import salient as sal

    ids = tokenizer.encode(prompt, add_special_tokens=False)
    with torch.no_grad():
        token = int(model(torch.tensor([ids])).logits[0, -1].argmax())
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        sal.layer_integrated_gradients(model, layers, ids, [token])
    events = prof.key_averages()
    total_us = sum(e.self_cpu_time_total for e in events)
    mm = [e for e in events if e.key in ("aten::mm", "aten::addmm", "aten::bmm")]
    mm_us = sum(e.self_cpu_time_total for e in mm)
    mm_flops = sum(e.flops for e in mm)
    rows, hidden, inner = 50 * len(ids), model.config.hidden_size, model.config.intermediate_size
    a, b = torch.randn(rows, hidden), torch.randn(hidden, inner)
    for _ in range(3):
        a @ b
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < 2:
        a @ b
        n += 1
    plain = 2 * rows * hidden * inner * n / (time.perf_counter() - start) / 1e9
    return {"tokens": len(ids), "matrix_product_share_of_cpu_time": round(mm_us / total_us, 3),
            "matrix_product_gflops": round(mm_flops / mm_us / 1e3, 1),
            f"plain_matmul_{rows}x{hidden}x{inner}_gflops": round(plain, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--docs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/decode_ig.json"))
    args = parser.parse_args()
    if not (SHARED / "data").is_dir():
        sys.exit(f"{SHARED / 'data'} is absent: set QXBENCH_SHARED to the folder holding data/")
    result = {"python": platform.python_version(), "torch": torch.__version__, "machine": platform.machine(),
              "cpus": os.cpu_count(), "threads": torch.get_num_threads(),
              "model": f"{MODEL} (SmolLM2-135M-Instruct; full precision = GGUF Q4_1 dequantized)",
              "limit": args.limit, "generation": generation(args.limit),
              "integrated_gradients": integrated_gradients(args.docs)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps({k: result[k] for k in ("generation", "integrated_gradients")}, indent=1))


if __name__ == "__main__":
    main()
