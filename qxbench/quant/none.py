"""``quant=none``: the full-precision reference. HFLM loads the checkpoint itself, unchanged."""

from __future__ import annotations

from dataclasses import dataclass

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
        return None


register(FullPrecision())
