"""``quant=awq``: AWQ (Lin et al. 2024), activation-aware int4, through gptqmodel.

autoawq is archived and llm-compressor's AWQ fails on CPU, so AWQ comes from gptqmodel, which
writes the standard AutoAWQ GEMM format (asymmetric, zero points) that transformers loads. On CPU
gptqmodel quantizes in bfloat16 (it rejects float32) with its torch kernels; the evaluated model is
the packed checkpoint from the quantized-model cache, in bfloat16.

Gemma 2 and Gemma 3 are refused (:data:`WRONG_FOLDING`): gptqmodel 7.6 quantizes them with its
Llama layer tree, so AWQ folds the MLP's input scales into ``post_attention_layernorm`` (on Gemma
the norm of the attention output, before the residual add; the MLP reads
``pre_feedforward_layernorm``) and, for ``Gemma3RMSNorm``, divides ``w`` where the norm multiplies
by ``1 + w``. The folded model computes another function before any rounding
(``tests/quant/test_awq_gemma3.py`` applies gptqmodel's own folding with random scales: Llama's
logits move by ~1e-7, Gemma's by ~0.2-0.6).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from qxbench.errors import QxError
from qxbench.quant._common import cache_spec, check_group_size, group_size_for, load_cached, load_error, require
from qxbench.quant.calibration import Calibration, calibration_texts
from qxbench.quant.registry import Loaded, QuantRequest, register

# model_type -> what goes wrong (gptqmodel 7.6.0: models/definitions/gemma2.py, gemma3.py subclass LlamaQModel)
WRONG_FOLDING = {
    model_type: "folds AWQ's MLP scales into post_attention_layernorm, not into the pre_feedforward_layernorm "
                "that feeds the MLP, which changes the model's function"
    for model_type in ("gemma2", "gemma3_text", "gemma3")
}


def check_architecture(path: str) -> None:
    """One line, before anything is quantized, for an architecture gptqmodel's AWQ gets wrong."""
    import importlib.metadata

    from transformers import AutoConfig

    try:
        model_type = AutoConfig.from_pretrained(path).model_type
    except Exception as err:
        raise load_error(path, err) from err
    if model_type in WRONG_FOLDING:
        raise QxError(f"quant=awq cannot quantize '{model_type}' models: gptqmodel "
                      f"{importlib.metadata.version('gptqmodel')} {WRONG_FOLDING[model_type]}; "
                      "use gptq, rtn, bnb-int8, bnb-nf4 or torchao-int8")


def quantize_awq(path: str, out: Path, bits: int, group_size: int, cal: Calibration) -> None:
    # gptqmodel sizes its CPU worker pool from this; the default asks for more workers than a
    # 2-core machine has and fails.
    if not os.environ.get("GPTQMODEL_CPU_WORKERS"):
        os.environ["GPTQMODEL_CPU_WORKERS"] = str(os.cpu_count() or 1)
    import torch
    from gptqmodel import BACKEND, AWQConfig, GPTQModel
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(path)
        model = GPTQModel.load(path, AWQConfig(bits=bits, group_size=group_size, sym=False), dtype=torch.bfloat16)
    except Exception as err:
        raise load_error(path, err) from err
    check_group_size(model.model, group_size)
    backend = BACKEND.AUTO if torch.cuda.is_available() else BACKEND.AWQ_TORCH
    with _logs_into(out / "gptqmodel_logs"):
        model.quantize(calibration_texts(cal), batch_size=8, backend=backend)
    model.save(str(out))


@contextmanager
def _logs_into(directory: Path) -> Iterator[None]:
    """gptqmodel 7.6 writes per-layer logs to ``./logs`` in the caller's working directory; keep them
    with the cache entry instead (restored afterwards)."""
    from gptqmodel.looper import loop_processor

    saved = loop_processor._PROJECT_LOG_DIR
    loop_processor._PROJECT_LOG_DIR = directory
    try:
        yield
    finally:
        loop_processor._PROJECT_LOG_DIR = saved


@dataclass(frozen=True)
class AWQ:
    caches: ClassVar[bool] = True  # quantizes into the quantized-model cache (see qxbench.distributed)
    name: str = "awq"
    bits: tuple[int, ...] = (4,)
    requires_calibration: bool = True
    extra: str = "awq"

    def check_environment(self) -> None:
        require("gptqmodel", quantizer=self.name, library="gptqmodel", extra=self.extra)

    def load(self, path: str, request: QuantRequest, **from_pretrained: object) -> Loaded:
        check_architecture(path)
        bits = request.bits or 4
        group_size = group_size_for(path, request.group_size, self.name)
        spec = cache_spec(path, backend=self.name, distribution="gptqmodel", bits=bits, group_size=group_size,
                          calibration=request.calibration)  # gptqmodel quantizes in bfloat16 whatever dtype= says
        return load_cached(spec, lambda out: quantize_awq(path, out, bits, group_size, request.calibration),
                           device=str(from_pretrained.get("device") or "cpu"), bits=bits, group_size=group_size,
                           dtype=request.torch_dtype)


register(AWQ())
