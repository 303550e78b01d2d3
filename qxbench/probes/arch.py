"""The one declarative table from architecture (``config.model_type``) to module names.

Paths of ``layers``, ``final_norm`` and ``unembed`` are from the model root; ``attn_out`` and
``mlp_out`` are relative to one decoder block. ``mlp_out`` is the down projection: its *input* is
the vector of MLP neuron activations (after the activation function; for gated MLPs, the gated
product ``act(gate(x)) * up(x)``), its output the FFN sublayer's contribution to the residual.
The probes assume a sequential block: ``h_out = h_in + attn_out + mlp_out``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qxbench.errors import QxError


@dataclass(frozen=True)
class ArchSpec:
    layers: str
    final_norm: str
    unembed: str
    attn_out: str
    mlp_out: str


_LLAMA = ArchSpec("model.layers", "model.norm", "lm_head", "self_attn.o_proj", "mlp.down_proj")
_GPT2 = ArchSpec("transformer.h", "transformer.ln_f", "lm_head", "attn.c_proj", "mlp.c_proj")

ARCHS: dict[str, ArchSpec] = {
    "llama": _LLAMA,
    "mistral": _LLAMA,
    "qwen2": _LLAMA,
    "qwen3": _LLAMA,
    "gpt2": _GPT2,
}


def arch_of(model: Any) -> ArchSpec:
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if model_type not in ARCHS:
        raise QxError(f"No module-name mapping for model class {type(model).__name__} (model_type {model_type!r}); "
                      f"known model types: {', '.join(sorted(ARCHS))}")
    return ARCHS[model_type]
