"""torchao weight-only: ``quant=torchao-int8`` (per channel) and ``torchao-int4`` (grouped).

Through transformers' ``TorchAoConfig`` on load. int4 uses ``IntxWeightOnlyConfig`` (int4 values
with per-group scales, stored unpacked in int8), which runs on CPU; torchao's packed
``Int4WeightOnlyConfig`` needs CUDA. Quantizing takes well under a second, so nothing is cached.
"""

from __future__ import annotations

from dataclasses import dataclass

from qxbench.errors import QxError
from qxbench.quant._common import group_size_for, require
from qxbench.quant.registry import Loaded, QuantRequest, register


@dataclass(frozen=True)
class TorchAO:
    name: str
    bits: tuple[int, ...]
    requires_calibration: bool = False
    extra: str = "torchao"

    def check_environment(self) -> None:
        require("torchao", quantizer=self.name, library="torchao", extra=self.extra)

    def load(self, path: str, request: QuantRequest, **from_pretrained: object) -> Loaded:
        import torch
        from torchao.quantization import Int8WeightOnlyConfig, IntxWeightOnlyConfig
        from torchao.quantization.granularity import PerGroup
        from transformers import AutoModelForCausalLM, TorchAoConfig

        if self.bits == (8,):
            if request.group_size is not None:
                raise QxError(f"Quantizer '{self.name}' is per channel and takes no group_size; drop it")
            config, group_size = Int8WeightOnlyConfig(), None
        else:
            group_size = group_size_for(path, request.group_size, self.name)
            config = IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=PerGroup(group_size))
        device = str(from_pretrained.get("device") or "cpu")
        model = AutoModelForCausalLM.from_pretrained(
            path, quantization_config=TorchAoConfig(quant_type=config), device_map={"": device},
            dtype=request.torch_dtype,
        )
        return Loaded(model, bits=self.bits[0], group_size=group_size)


register(TorchAO("torchao-int8", (8,)))
register(TorchAO("torchao-int4", (4,)))
