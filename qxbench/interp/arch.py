"""The one declarative table from architecture (``config.model_type``) to module names, and the few
facts about an architecture that change what a probe computes.

Paths of ``layers``, ``final_norm`` and ``unembed`` are from the model root; the others are relative
to one decoder block.

- ``attn_out``: the module whose *output* is the attention sublayer's contribution to the residual:
  the output projection (Llama, GPT-2), or the norm after it (Gemma 2/3's ``post_attention_layernorm``,
  applied to the attention output before the residual add).
- ``mlp_out``: the down projection. Its *input* is the vector of MLP neuron activations (after the
  activation function; for gated MLPs the gated product ``act(gate(x)) * up(x)``).
- ``ffn_norm``: a norm applied to the down projection's output before the residual add (Gemma 2/3's
  ``post_feedforward_layernorm``), or None: the FFN's contribution is then ``mlp_out``'s output.
- ``act``: the activation-function module the ``neurons`` probe hooks (the reference's
  ``mlp.act_fn``): Llama's ``SiLU(gate_proj(x))``, Gemma's ``GELU-tanh(gate_proj(x))`` (both before
  the product with ``up_proj``), GPT-2's ``GELU(c_fc(x))``.
- ``norm_offset``: RMSNorm weights are used as ``offset + w``: 0 (Llama), 1 (Gemma's ``(1 + w)``).

The probes assume a sequential block: ``h_out = h_in + attn_out + ffn``, ``ffn = ffn_norm(mlp_out)``
where there is an ``ffn_norm``, else ``mlp_out``. Gemma also scales the token embeddings by
``sqrt(hidden)`` inside its embedding module: the probes read the residual stream from the blocks'
inputs, so every logit-lens quantity sees the scaled stream, as the model does. A final-logit
soft-cap (``config.final_logit_softcapping``: Gemma 2's 30; None for Gemma 3) is applied wherever a
residual is read through the unembedding (:func:`softcap`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from qxbench.errors import QxError


@dataclass(frozen=True)
class ArchSpec:
    layers: str
    final_norm: str
    unembed: str
    attn_out: str
    mlp_out: str
    act: str = "mlp.act_fn"
    ffn_norm: str | None = None
    norm_offset: float = 0.0


_LLAMA = ArchSpec("model.layers", "model.norm", "lm_head", "self_attn.o_proj", "mlp.down_proj")
_GEMMA = ArchSpec("model.layers", "model.norm", "lm_head", "self_attn.o_proj", "mlp.down_proj", norm_offset=1.0)
_GEMMA2 = ArchSpec("model.layers", "model.norm", "lm_head", "post_attention_layernorm", "mlp.down_proj",
                   ffn_norm="post_feedforward_layernorm", norm_offset=1.0)
_GPT2 = ArchSpec("transformer.h", "transformer.ln_f", "lm_head", "attn.c_proj", "mlp.c_proj", act="mlp.act")

ARCHS: dict[str, ArchSpec] = {
    "llama": _LLAMA,
    "mistral": _LLAMA,
    "qwen2": _LLAMA,
    "qwen3": _LLAMA,
    "gemma": _GEMMA,  # Gemma 1: Llama's layout (its post_attention_layernorm is the pre-FFN norm), (1 + w) norms
    "gemma2": _GEMMA2,
    "gemma3_text": _GEMMA2,  # Gemma 3 keeps Gemma 2's sandwich norms
    "gpt2": _GPT2,
}


def arch_of(model: Any) -> ArchSpec:
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if model_type not in ARCHS:
        raise QxError(f"No module-name mapping for model class {type(model).__name__} (model_type {model_type!r}); "
                      f"known model types: {', '.join(sorted(ARCHS))}")
    return ARCHS[model_type]


def logit_cap(model: Any) -> float | None:
    """The model's final-logit soft-cap (``config.final_logit_softcapping``), or None."""
    cap = getattr(getattr(model, "config", None), "final_logit_softcapping", None)
    return float(cap) if cap else None


def softcap(model: Any, logits: torch.Tensor) -> torch.Tensor:
    """``cap * tanh(logits / cap)`` as the model's own head applies it; the logits unchanged without a cap."""
    cap = logit_cap(model)
    return logits if cap is None else torch.tanh(logits / cap) * cap
