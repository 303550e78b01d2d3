"""``"module:attr"`` references, imported when first used (start-up stays cheap; no import circle between a
registry and what it names): the installed models (:mod:`qxbench.models`), the logged result types
(:mod:`qxbench.probes.logged`)."""

from __future__ import annotations

import importlib
from typing import Any


def attribute(ref: str, default: str = "") -> Any:
    """The object ``ref`` (``"package.module:name"``) names; ``"package.module"`` alone names ``default``."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name or default)
