"""Benchmark: does a prompt's output depend on the other rows of its batch? SmolLM2-135M-Instruct
("full precision" = its GGUF Q4_1 weights dequantized) at full precision, bnb-int8 and bnb-nf4.

    python -m benchmarks.checks.bnb_int8_batch [--out benchmarks/results/bnb_int8_batch.json]

For one prompt, the largest |logit difference| at its last position between the prompt alone and the
prompt in a batch of two beside each of three other prompts of the same length (no padding). bitsandbytes'
LLM.int8 picks its outlier feature columns (|x| > threshold) over every token of the batch
(``bitsandbytes/autograd/_functions.py``: ``int8_vectorwise_quant`` on the whole reshaped input), so
its rows are not independent; this measures by how much.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch

PROMPT = "The capital of France is the city of"
OTHERS = ("Quantum chromodynamics explains why quarks are", "My favourite breakfast is toast with butter and",
          "ZZZZ !!!! ???? #### 12345 67890 %%%%")


def largest_differences(quant: str) -> list[float]:
    from qxbench.lmeval.adapter import QXLM

    lm = QXLM(pretrained="smollm2-135m", quant=quant, device="cpu", batch_size=2, reference="none")
    ids = lm.tokenizer(PROMPT, return_tensors="pt").input_ids
    n = ids.shape[1]
    out = []
    with torch.no_grad():
        alone = lm.model(ids).logits[0, -1]
        for text in OTHERS:
            other = lm.tokenizer(text, return_tensors="pt").input_ids
            other = torch.cat([other] * (1 + n // other.shape[1]), 1)[:, :n]  # same length: no padding
            beside = lm.model(torch.cat([ids, other])).logits[0, -1]
            out.append(float((beside - alone).abs().max()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/bnb_int8_batch.json"))
    args = parser.parse_args()
    result = {"python": platform.python_version(), "torch": torch.__version__, "prompt": PROMPT, "others": OTHERS,
              "max_abs_logit_difference_alone_vs_beside_each_other":
                  {q: largest_differences(q) for q in ("none", "bnb-int8", "bnb-nf4")}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result["max_abs_logit_difference_alone_vs_beside_each_other"], indent=1))


if __name__ == "__main__":
    main()
