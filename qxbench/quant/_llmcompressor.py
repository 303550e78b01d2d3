"""The llm-compressor pipeline shared by ``gptq`` and ``rtn``: weights-only int4/int8, grouped.

llm-compressor (maintained; carries GPTQ now that auto-gptq is archived) runs on CPU as well as
CUDA. The quantized model is saved in compressed-tensors format (packed integer weights) to the
quantized-model cache and loaded back from there through transformers, so what is evaluated is
the real packed checkpoint, and a second run with the same config loads instead of re-quantizing.
Each backend module only chooses the llm-compressor modifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from qxbench.quant._common import cache_spec, check_group_size, group_size_for, load_cached, load_error, require
from qxbench.quant.calibration import Calibration, calibration_texts
from qxbench.quant.registry import Loaded, QuantRequest

MAX_SEQ_LEN = 256
# How ``oneshot`` calibrates (part of the cache key). llm-compressor shuffles the calibration texts
# with torch's global RNG by default, so the same config gave different weights from run to run
# (benchmarks/speed/gptq_profile.py: perplexity 641 vs 741); qxbench has already chosen the texts, so they
# are fed in llm-compressor's length-aware order instead: the same weights every time.
ONESHOT: dict[str, object] = {"shuffle_calibration_samples": False}


def quantize_to(modifier: str, path: str, out: Path, bits: int, group_size: int, cal: Calibration | None,
                dtype: str = "float32", **oneshot_options: object) -> None:
    """Apply ``modifier`` (an llm-compressor quantization modifier class name) to the full-precision
    checkpoint at ``path``, loaded in ``dtype``; save it compressed into ``out``. ``cal`` is None for data-free
    methods.
    ``oneshot_options``: more arguments for llm-compressor's ``oneshot`` (``benchmarks/speed/gptq_profile.py``)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from qxbench.logs import importing_llmcompressor

    with importing_llmcompressor():  # its per-module logs: to the run's log file (qxbench -v: the terminal)
        from llmcompressor import oneshot
        from llmcompressor.modifiers import quantization

    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))
    except Exception as err:  # corrupt weights surface as OSError, SafetensorError, RuntimeError...
        raise load_error(path, err) from err
    check_group_size(model, group_size)
    tokenizer = AutoTokenizer.from_pretrained(path)
    weights = {"num_bits": bits, "type": "int", "symmetric": True, "strategy": "group", "group_size": group_size}
    recipe = getattr(quantization, modifier)(
        config_groups={"group_0": {"targets": ["Linear"], "weights": weights}}, ignore=["lm_head"]
    )
    if cal is None:
        oneshot(model=model, recipe=recipe, **oneshot_options)
    else:
        from datasets import Dataset

        texts = calibration_texts(cal)
        dataset = Dataset.from_dict(dict(tokenizer(texts, truncation=True, max_length=MAX_SEQ_LEN)))
        oneshot(model=model, dataset=dataset, recipe=recipe, num_calibration_samples=len(texts),
                max_seq_length=MAX_SEQ_LEN, **{**ONESHOT, **oneshot_options})
    model.save_pretrained(out, save_compressed=True)
    tokenizer.save_pretrained(out)


@dataclass(frozen=True)
class LLMCompressorBackend:
    caches: ClassVar[bool] = True  # quantizes into the quantized-model cache (see qxbench.distributed)
    name: str
    modifier: str  # llm-compressor modifier class, e.g. "GPTQModifier"
    requires_calibration: bool
    bits: tuple[int, ...] = (4, 8)
    extra: str = "gptq"

    def check_environment(self) -> None:
        require("llmcompressor", quantizer=self.name, library="llm-compressor", extra=self.extra)

    def load(self, path: str, request: QuantRequest, **from_pretrained: object) -> Loaded:
        bits = request.bits or 4
        group_size = group_size_for(path, request.group_size, self.name)
        cal = request.calibration if self.requires_calibration else None
        spec = cache_spec(path, backend=self.name, distribution="llmcompressor", bits=bits, group_size=group_size,
                          calibration=cal, dtype=request.dtype, modifier=self.modifier,
                          oneshot=ONESHOT if cal is not None else None)
        build = lambda out: quantize_to(self.modifier, path, out, bits, group_size, cal, request.dtype)  # noqa: E731
        return load_cached(spec, build,
                           device=str(from_pretrained.get("device") or "cpu"), bits=bits, group_size=group_size,
                           dtype=request.torch_dtype)

