"""``quant=prequantized``: a checkpoint that is already quantized (GPTQ, AWQ, compressed-tensors,
bitsandbytes-serialized, ...), from a path or a Hugging Face id.

transformers reads the checkpoint's own ``quantization_config`` and picks the kernels (GPTQ and AWQ
files need ``optimum`` + ``gptqmodel`` installed; compressed-tensors and bitsandbytes files load
with this project's extras). The adapter then verifies that quantized layers are really in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qxbench.errors import QxError, first_line
from qxbench.quant.cache import checkpoint_sha256
from qxbench.quant.registry import Loaded, QuantRequest, register


def quantization_config(path: str) -> dict[str, Any] | None:
    """The checkpoint's ``quantization_config`` as a dict, or None (unreadable config -> None:
    the loader that follows reports it)."""
    from transformers import AutoConfig

    try:
        qc = getattr(AutoConfig.from_pretrained(path), "quantization_config", None)
    except (OSError, ValueError):
        return None
    if qc is None:
        return None
    return qc if isinstance(qc, dict) else qc.to_dict()


def declared_bits(qc: dict[str, Any]) -> int | None:
    if qc.get("load_in_8bit"):
        return 8
    if qc.get("load_in_4bit"):
        return 4
    if isinstance(qc.get("bits"), int):
        return qc["bits"]
    for group in (qc.get("config_groups") or {}).values():
        bits = (group.get("weights") or {}).get("num_bits")
        if isinstance(bits, int):
            return bits
    return None


@dataclass(frozen=True)
class Prequantized:
    name: str = "prequantized"
    bits: tuple[int, ...] = ()  # the checkpoint decides; bits= is not accepted
    requires_calibration: bool = False
    extra: str = ""

    def check_environment(self) -> None:
        return None

    def load(self, path: str, request: QuantRequest, **from_pretrained: object) -> Loaded:
        from transformers import AutoModelForCausalLM

        qc = quantization_config(path)
        if qc is None:
            raise QxError(f"'{path}' is not a quantized checkpoint (no quantization_config); "
                          "quantize it with quant=<backend> instead")
        device = str(from_pretrained.get("device") or "cpu")
        try:
            model = AutoModelForCausalLM.from_pretrained(path, device_map={"": device}, dtype=request.torch_dtype)
        except Exception as err:  # corrupt files and missing kernels surface as many types
            raise QxError(f"Could not load quantized checkpoint '{path}' ({qc.get('quant_method')}): "
                          f"{first_line(err)}") from err
        from qxbench.quant.bnb import standard_cpu_path

        return Loaded(standard_cpu_path(model), bits=declared_bits(qc), weights_sha256=checkpoint_sha256(Path(path)))


register(Prequantized())
