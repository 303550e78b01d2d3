"""bitsandbytes: ``quant=bnb-int8`` (LLM.int8()), ``bnb-nf4`` and ``bnb-fp4`` (4-bit, double quant).

Quantizes on load through transformers' ``BitsAndBytesConfig``; runs on CUDA and, with
bitsandbytes >= 0.45, on CPU. 4-bit always uses double quantization: without it, a serialized 4-bit
checkpoint reloads corrupted on bitsandbytes 0.50 (absmax reordered), so one setting serves both
on-the-fly and saved models. ``lm_head`` stays in full precision (bitsandbytes' default).

On CPUs with AVX512-BF16, bitsandbytes >= 0.49 repacks a 4-bit layer's weight on its first
no-grad forward and from then on runs an inference-only bf16 kernel: no gradient reaches the
layer's input (integrated gradients in the ``neurons`` probe fail) and the layer computes in bf16
although ``bnb_4bit_compute_dtype`` is float32. qxbench turns that path off on the layers it loads,
so that 4-bit layers compute as on CUDA (dequantize, float32 matmul) and stay differentiable.

LLM.int8() quantizes each int8 layer's input through float16, whatever ``dtype=`` is: bitsandbytes casts a
float32 or bfloat16 input to float16 and logs a warning on every such matmul (``MatMul8bitLt.forward``,
bitsandbytes 0.50 ``autograd/_functions.py``; thousands of lines per run). qxbench states it once, when a
bnb-int8 model is loaded, and drops the repeats (:class:`CastStatedOnce`).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from qxbench.errors import QxError
from qxbench.quant._common import require
from qxbench.quant.registry import Loaded, QuantRequest, register

INT8_LOGGER = "bitsandbytes.autograd._functions"
INT8_CAST = "inputs will be cast from"  # MatMul8bitLt's warning, repeated on every int8 matmul


class CastStatedOnce(logging.Filter):
    """Drops bitsandbytes' per-matmul float16-cast warning (stated once by :func:`state_int8_cast`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return INT8_CAST not in record.getMessage()


def state_int8_cast(dtype: str) -> None:
    """One line saying what bnb-int8 computes in (its input's float16 copy, the rest in ``dtype``), and
    bitsandbytes' repeats of it filtered from then on (once per process)."""
    if dtype != "float16":
        print(f"qxbench: quant=bnb-int8: each int8 layer's input is quantized from a float16 copy (LLM.int8(); "
              f"bitsandbytes casts {dtype} to float16); the rest of the model computes in {dtype}",
              file=sys.stderr, flush=True)
    logger = logging.getLogger(INT8_LOGGER)
    if not any(isinstance(f, CastStatedOnce) for f in logger.filters):
        logger.addFilter(CastStatedOnce())


def standard_cpu_path(model):  # noqa: ANN001, ANN201 - any transformers model
    """Keep bitsandbytes 4-bit layers off the inference-only CPU kernel (see the module docstring)."""
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False
    return model


@dataclass(frozen=True)
class BitsAndBytes:
    name: str
    bits: tuple[int, ...]
    quant_type: str  # "int8", "nf4" or "fp4"
    requires_calibration: bool = False
    extra: str = "bnb"

    def check_environment(self) -> None:
        require("bitsandbytes", quantizer=self.name, library="bitsandbytes", extra=self.extra)

    def config(self, dtype: str = "float32"):  # -> transformers.BitsAndBytesConfig
        """4-bit layers compute in ``dtype`` (``bnb_4bit_compute_dtype``); int8 layers quantize their input
        from a float16 copy (:func:`state_int8_cast`)."""
        import torch
        from transformers import BitsAndBytesConfig

        if self.quant_type == "int8":
            return BitsAndBytesConfig(load_in_8bit=True)
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=self.quant_type,
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=getattr(torch, dtype),
        )

    def load(self, path: str, request: QuantRequest, **from_pretrained: object) -> Loaded:
        from transformers import AutoModelForCausalLM

        if request.group_size is not None:
            raise QxError(f"Quantizer '{self.name}' has no group_size (bitsandbytes blocks are fixed); drop it")
        device = str(from_pretrained.get("device") or "cpu")
        model = AutoModelForCausalLM.from_pretrained(
            path, quantization_config=self.config(request.dtype), device_map={"": device}, dtype=request.torch_dtype
        )
        if self.quant_type == "int8":
            state_int8_cast(request.dtype)
        return Loaded(standard_cpu_path(model), bits=self.bits[0])


for _q in (BitsAndBytes("bnb-int8", (8,), "int8"), BitsAndBytes("bnb-nf4", (4,), "nf4"),
           BitsAndBytes("bnb-fp4", (4,), "fp4")):
    register(_q)
