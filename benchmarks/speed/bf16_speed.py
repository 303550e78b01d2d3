"""Benchmark: float32 vs bfloat16 on this CPU, for the two passes the probes spend their time in: prefill
(a batch of prompts run once, as classification and logit-lens reads do) and batched greedy generation
(rewrites, explanations), with the model loaded as the adapter loads it (``dtype=``).

    python -m benchmarks.speed.bf16_speed [--model qwen2.5-coder-0.5b] [--repeats 3]

Both dtypes run in one process, alternately, ``--repeats`` times each (the first pass of each dtype is a
warm-up and not counted); the median of the rest is reported as tokens per second, with the ratio
bf16 / fp32. Also records the CPU's bf16 features (AMX, AVX512-BF16) and torch's thread count. Writes
``benchmarks/results/bf16_speed_<model>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

PROMPT = ("Decide whether the review is positive or negative. Review: the acting, costumes, music, "
          "cinematography and sound are all astounding given the production's austere locales. Answer:")


def cpu_features() -> dict[str, object]:
    flags: set[str] = set()
    name = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {"cpu": name, "amx_bf16": "amx_bf16" in flags, "avx512_bf16": "avx512_bf16" in flags}


def timed(fn, repeats: int) -> float:  # noqa: ANN001
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from qxbench.resolve import resolve_pretrained

    path = resolve_pretrained(args.model)
    tok = AutoTokenizer.from_pretrained(path)
    tok.padding_side = "left"
    batch = tok([PROMPT] * args.batch, return_tensors="pt", padding=True)
    prompt_tokens = int(batch["attention_mask"].sum())
    models = {name: AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, name)).eval()
              for name in ("float32", "bfloat16")}
    out: dict[str, dict[str, float]] = {name: {} for name in models}
    with torch.no_grad():
        for model in models.values():  # warm-up
            model(**batch)
            model.generate(**batch, max_new_tokens=4, do_sample=False, pad_token_id=tok.pad_token_id)
        for name, model in models.items():
            prefill = timed(lambda m=model: m(**batch), args.repeats)
            gen = timed(lambda m=model: m.generate(**batch, max_new_tokens=args.new_tokens,
                                                   min_new_tokens=args.new_tokens, do_sample=False,
                                                   pad_token_id=tok.pad_token_id), args.repeats)
            out[name] = {"prefill_tokens_per_s": round(prompt_tokens / prefill, 1),
                         "generate_tokens_per_s": round(args.batch * args.new_tokens / gen, 1)}
            print(name, out[name], flush=True)
    ratio = {k: round(out["bfloat16"][k] / out["float32"][k], 2) for k in out["float32"]}
    print("bfloat16 / float32:", ratio)
    target = Path(f"benchmarks/results/bf16_speed_{args.model}.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({
        "command": f"python -m benchmarks.speed.bf16_speed --model {args.model} --repeats {args.repeats}",
        "machine": {**cpu_features(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "torch": torch.__version__},
        "batch": args.batch, "prompt_tokens": prompt_tokens, "new_tokens": args.new_tokens, "repeats": args.repeats,
        "float32": out["float32"], "bfloat16": out["bfloat16"], "bfloat16_over_float32": ratio,
    }, indent=1) + "\n")


if __name__ == "__main__":
    main()
