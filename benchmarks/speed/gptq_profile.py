"""Benchmark: where GPTQ's quantize time goes on SmolLM2-135M (2 CPU cores) and what llm-compressor's
options change, each variant with the quality it buys.

    python -m benchmarks.speed.gptq_profile [--variants default,samples16,...] [--profile]

Every variant quantizes SmolLM2 (its "full precision" = the GGUF Q4_1 weights dequantized) to int4,
group 64 (the size qxbench picks for hidden 576), calibrating on the calibration study's PIQA prompts
as the real-model benchmarks do, through qxbench's own ``quantize_to`` into a temporary directory.
Recorded per variant: seconds of the whole call, and the perplexity of the saved checkpoint on the
first 100 BoolQ prompts of ``../shared/data/msingh`` (never used for calibration) against full
precision's. ``--profile``: cProfile of the default variant, the functions with the most cumulative
time. Writes ``benchmarks/results/gptq_profile.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import math
import os
import platform
import pstats
import tempfile
import time
from pathlib import Path

from benchmarks.studies.real_model import MODEL, SHARED

SAMPLES = 64
VARIANTS = {  # name: (calibration samples, extra oneshot arguments)
    "default": (SAMPLES, {}),  # what qxbench runs: llm-compressor's defaults (sequential pipeline, batch 1)
    "samples16": (16, {}),
    "samples128": (128, {}),
    # batches of similar lengths (llm-compressor's length-aware sampler), cut to the batch's shortest
    "batch8": (SAMPLES, {"batch_size": 8}),
    "batch16": (SAMPLES, {"batch_size": 16}),
    "no_propagate": (SAMPLES, {"propagate_error": False}),  # next layer fed full-precision outputs
    "basic": (SAMPLES, {"pipeline": "basic"}),  # every layer's Hessian from full-precision inputs, one pass
}


def perplexity(path: str, texts: list[str]) -> float:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    nll, count = 0.0, 0
    with torch.no_grad():
        for text in texts:
            ids = torch.tensor([tok.encode(text)])
            logits = model(input_ids=ids).logits[0, :-1]
            nll -= float(torch.log_softmax(logits.float(), -1).gather(1, ids[0, 1:, None]).sum())
            count += ids.shape[1] - 1
    return math.exp(nll / count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gptq_profile.json"))
    args = parser.parse_args()
    os.environ.setdefault("QXBENCH_LOG", str(Path(tempfile.gettempdir()) / "gptq_profile.log"))
    from qxbench.quant._common import group_size_for
    from qxbench.quant._llmcompressor import MAX_SEQ_LEN, quantize_to
    from qxbench.quant.calibration import Calibration
    from qxbench.resolve import resolve_pretrained

    path = resolve_pretrained(MODEL)
    group = group_size_for(path, None, "gptq")
    with (SHARED / "data" / "msingh" / "boolq.csv").open() as f:
        held_out = [row["prompt"] for row in csv.DictReader(f)][:100]
    out: dict = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
                 "model": f"{MODEL} (full precision = GGUF Q4_1 dequantized)", "bits": 4, "group_size": group,
                 "max_seq_length": MAX_SEQ_LEN, "calibration": "../shared/data/msingh/piqa.csv (column prompt)",
                 "perplexity_texts": "first 100 BoolQ prompts", "fp_perplexity": round(perplexity(path, held_out), 3),
                 "variants": {}}
    for name in args.variants.split(","):
        samples, options = VARIANTS[name]
        cal = Calibration(str(SHARED / "data" / "msingh" / "piqa.csv"), samples, "train", "prompt")
        with tempfile.TemporaryDirectory() as tmp:
            profiler = cProfile.Profile() if args.profile and name == "default" else None
            start = time.perf_counter()
            if profiler:
                profiler.enable()
            quantize_to("GPTQModifier", path, Path(tmp), 4, group, cal, **options)
            if profiler:
                profiler.disable()
            seconds = time.perf_counter() - start
            entry = {"calibration_samples": samples, "oneshot_options": options, "seconds": round(seconds, 1),
                     "perplexity": round(perplexity(tmp, held_out), 3)}
        if profiler:
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
            entry["profile_top_cumulative"] = [line.strip() for line in text.getvalue().splitlines()
                                               if line.strip() and line.strip()[0].isdigit()][:25]
        out["variants"][name] = entry
        print(name, {k: v for k, v in entry.items() if k != "profile_top_cumulative"}, flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
