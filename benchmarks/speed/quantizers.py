"""Benchmark: every CPU-capable quantizer config on the embedded model.

    python -m benchmarks.speed.quantizers [--repeats 3] [--out benchmarks/results/quantizers.json]

Per config: seconds to quantize (model load included; a fresh cache each repeat), seconds to load
the same config again from the quantized-model cache (cache-backed backends), their ratio (goal
>= 5x), weight bytes relative to full precision, quantized linear layers, and the mean / max
|loglikelihood difference| against full precision on 52 fact completions and 100 review labels
(a finer signal than accuracy, which stays saturated on qx-tiny).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

from lm_eval.api.instance import Instance

from benchmarks.common import RESULTS
from qxbench.lmeval.adapter import QXLM
from qxbench.world.data import read_rows

CONFIGS = [
    ("bnb-int8", None), ("bnb-nf4", None), ("bnb-fp4", None),
    ("rtn", 8), ("rtn", 4), ("gptq", 8), ("gptq", 4), ("awq", 4), ("torchao-int8", None), ("torchao-int4", None),
]


def _requests() -> list[Instance]:
    args = [(r["prompt"], " " + r["object"]) for r in read_rows("facts")[::4]]
    args += [(f"Review: {r['text']}\nSentiment:", f" {r['label']}") for r in read_rows("reviews")[:100]]
    return [Instance("loglikelihood", {}, a, 0) for a in args]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, default=RESULTS / "quantizers.json")
    args = p.parse_args()

    fp = QXLM(device="cpu", batch_size=32)
    reference = [ll for ll, _ in fp.loglikelihood(_requests(), disable_tqdm=True)]
    report = {}
    for backend, bits in CONFIGS:
        kwargs = {"quant": backend, "device": "cpu", "batch_size": 32, **({"bits": bits} if bits else {})}
        fresh, cached = [], []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as cache:
                os.environ["QXBENCH_CACHE"] = cache
                fresh.append(QXLM(**kwargs))
                if fresh[-1].qx.cache_path:
                    cached.append(QXLM(**kwargs))
        lm = fresh[-1]
        lls = [ll for ll, _ in lm.loglikelihood(_requests(), disable_tqdm=True)]
        diffs = [abs(a - b) for a, b in zip(lls, reference, strict=True)]
        quantize_s = statistics.median(r.qx.quantize_seconds for r in fresh)
        row = {
            "bits": lm.qx.bits,
            "group_size": lm.qx.group_size,
            "quantize_seconds_median": round(quantize_s, 3),
            "weight_bytes_vs_fp": round(lm.qx.summary.weight_bytes / fp.qx.summary.weight_bytes, 4),
            "quantized_linear_layers": lm.qx.summary.quantized_linear_layers,
            "loglik_abs_diff_mean": round(statistics.fmean(diffs), 5),
            "loglik_abs_diff_max": round(max(diffs), 5),
        }
        if cached:
            assert all(c.qx.cache_hit for c in cached)
            load_s = statistics.median(c.qx.quantize_seconds for c in cached)
            row["cached_load_seconds_median"] = round(load_s, 3)
            row["requantize_over_cached"] = round(quantize_s / load_s, 1)
        report[f"{backend}-w{lm.qx.bits}"] = row
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
