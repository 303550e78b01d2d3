"""Quantizer backends behind one registry: ``quant=<name>`` in ``--model_args``.

Each backend is one small module that registers a :class:`Quantizer` (``none``, ``bnb``, ``gptq``,
``rtn``, ``awq``, ``torchao``, ``prequantized``), listed in ``registry._BACKEND_MODULES`` so that the
first lookup imports them (their heavy libraries load only when a backend is used). Shared pieces:
``calibration`` (calibration text), ``cache`` (quantized-model cache), ``_common`` (cache-and-load).
"""

from __future__ import annotations

from qxbench.quant.registry import Loaded, Quantizer, QuantRequest, available, get_quantizer, register

__all__ = ["Loaded", "Quantizer", "QuantRequest", "available", "get_quantizer", "register"]
