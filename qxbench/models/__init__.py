"""Models that ship with qxbench, resolved by name (``pretrained=qx-tiny``)."""

from __future__ import annotations

from pathlib import Path

EMBEDDED_MODEL_DIR = Path(__file__).parent / "qx-tiny"
EMBEDDED_MODELS: dict[str, Path] = {"qx-tiny": EMBEDDED_MODEL_DIR}
DEFAULT_MODEL = "qx-tiny"
# Models that install from the package registry and are converted on first use: name -> "module:function"
# (the function returns the converted directory; ``ensure`` when no function is named).
INSTALLED_MODELS: dict[str, str] = {
    "smollm2-135m": "qxbench.models.smollm2",
    "gemma3-270m": "qxbench.models.gemma3",
    "qwen2.5-coder-0.5b": "qxbench.models.qwen:ensure_0_5b",
    "qwen2.5-coder-1.5b": "qxbench.models.qwen:ensure_1_5b",
}
