"""Quantizer backends behind one registry: ``quant=<name>`` in ``--model_args``.

Each backend is one small module that registers a :class:`Quantizer`. This package holds the
registry and the full-precision ``none`` backend; further backends register themselves the same
way and are listed in ``_BACKEND_MODULES`` so that lookup can import them lazily.
"""

from __future__ import annotations

from qxbench.quant.registry import Loaded, Quantizer, QuantRequest, available, get_quantizer, register

__all__ = ["Loaded", "Quantizer", "QuantRequest", "available", "get_quantizer", "register"]
