"""``quant=none``: the full-precision reference. HFLM loads the checkpoint itself, unchanged."""

from __future__ import annotations

from dataclasses import dataclass

from qxbench.errors import QxError
from qxbench.quant.registry import QuantRequest, register


@dataclass(frozen=True)
class FullPrecision:
    name: str = "none"
    bits: tuple[int, ...] = ()
    requires_calibration: bool = False
    extra: str = ""

    def check_environment(self) -> None:
        return None

    def load(self, path: str, request: QuantRequest, **from_pretrained: object) -> None:
        from qxbench.quant.prequantized import quantization_config

        qc = quantization_config(path)
        if qc is not None:  # would be evaluated quantized under the full-precision name
            raise QxError(f"'{path}' is already quantized ({qc.get('quant_method')}); "
                          "evaluate it with quant=prequantized")
        return None


register(FullPrecision())
