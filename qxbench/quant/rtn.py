"""``quant=rtn``: round-to-nearest baseline through llm-compressor's ``QuantizationModifier``.

The same int4/int8 grouped format as ``gptq`` but data-free (min-max scales, no error
compensation): the baseline that tells how much GPTQ's calibration buys.
"""

from __future__ import annotations

from qxbench.quant._llmcompressor import LLMCompressorBackend
from qxbench.quant.registry import register

register(LLMCompressorBackend(name="rtn", modifier="QuantizationModifier", requires_calibration=False))
