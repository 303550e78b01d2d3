"""``quant=gptq``: GPTQ (Frantar et al. 2022) through llm-compressor's ``GPTQModifier``.

Second-order error compensation, layer by layer, on calibration text (``calibration=world`` by
default). int4 or int8 weights, symmetric, group size 128 by default; CPU and CUDA.
"""

from __future__ import annotations

from qxbench.quant._llmcompressor import LLMCompressorBackend
from qxbench.quant.registry import register

register(LLMCompressorBackend(name="gptq", modifier="GPTQModifier", requires_calibration=True))
