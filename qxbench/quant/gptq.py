"""``quant=gptq``: GPTQ (Frantar et al.) through llm-compressor, weights-only int4/int8, grouped.

llm-compressor carries the maintained GPTQ (auto-gptq is archived) and runs on CPU as well as
CUDA. The quantized model is saved in compressed-tensors format (packed integer weights) to the
quantized-model cache and loaded back from there through transformers, so what is evaluated is
the real packed checkpoint, and a second run with the same config loads instead of re-quantizing.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from qxbench.errors import QxError
from qxbench.quant.cache import get_or_create, model_fingerprint
from qxbench.quant.calibration import Calibration, calibration_texts
from qxbench.quant.registry import Loaded, QuantRequest, register

MAX_SEQ_LEN = 256


def _check_group_size(model, group_size: int) -> None:  # noqa: ANN001
    import torch

    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and not name.endswith("lm_head") and module.in_features % group_size:
            raise QxError(f"group_size={group_size} does not divide in_features={module.in_features} of '{name}'")


def quantize_to(path: str, out: Path, bits: int, group_size: int, cal: Calibration) -> None:
    """Run GPTQ on the full-precision checkpoint at ``path``; save it compressed into ``out``."""
    import torch
    from datasets import Dataset
    from llmcompressor import oneshot
    from llmcompressor.modifiers.quantization import GPTQModifier
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    _check_group_size(model, group_size)
    tokenizer = AutoTokenizer.from_pretrained(path)
    texts = calibration_texts(cal)
    dataset = Dataset.from_dict(dict(tokenizer(texts, truncation=True, max_length=MAX_SEQ_LEN)))
    weights = {"num_bits": bits, "type": "int", "symmetric": True, "strategy": "group", "group_size": group_size}
    recipe = GPTQModifier(config_groups={"group_0": {"targets": ["Linear"], "weights": weights}}, ignore=["lm_head"])
    oneshot(model=model, dataset=dataset, recipe=recipe, num_calibration_samples=len(texts),
            max_seq_length=MAX_SEQ_LEN)
    model.save_pretrained(out, save_compressed=True)
    tokenizer.save_pretrained(out)


@dataclass(frozen=True)
class GPTQ:
    name: str = "gptq"
    bits: tuple[int, ...] = (4, 8)
    requires_calibration: bool = True
    extra: str = "gptq"
    default_group_size: int = 128

    def check_environment(self) -> None:
        if importlib.util.find_spec("llmcompressor") is None:
            raise QxError(f"Quantizer '{self.name}' needs llm-compressor: pip install 'qxbench[{self.extra}]'")

    def load(self, path: str, request: QuantRequest, **from_pretrained: object) -> Loaded:
        from transformers import AutoModelForCausalLM

        bits = request.bits or 4
        group_size = request.group_size or self.default_group_size
        if group_size < 1:
            raise QxError(f"group_size={group_size} must be a positive whole number")
        spec = {
            "model": path,
            "fingerprint": model_fingerprint(path),
            "backend": self.name,
            "library": f"llmcompressor {importlib.metadata.version('llmcompressor')}",
            "bits": bits,
            "group_size": group_size,
            "calibration": request.calibration.key(),
        }
        entry, hit = get_or_create(spec, lambda out: quantize_to(path, out, bits, group_size, request.calibration))
        device = str(from_pretrained.get("device") or "cpu")
        model = AutoModelForCausalLM.from_pretrained(entry, device_map={"": device})
        return Loaded(model, str(entry), hit, bits, group_size)


register(GPTQ())
