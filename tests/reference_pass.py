"""A straightforward reference forward pass (one prompt, layer by layer) shared by the tests of
qxbench.interp and qxbench.probes (the tiny models are fixtures of tests/conftest.py)."""

from __future__ import annotations

import torch


@torch.no_grad()
def manual_llama(model, ids: list[int]) -> dict[str, list[torch.Tensor] | torch.Tensor]:
    """Llama by hand for one unpadded prompt: per layer, at the last token, the block input, the
    attention output, the gated MLP activation and the block output; plus the final logits."""
    core = model.model
    h = core.embed_tokens(torch.tensor([ids]))
    cos_sin = core.rotary_emb(h, torch.arange(len(ids))[None])
    mask = torch.full((len(ids), len(ids)), float("-inf")).triu(1)[None, None]
    out: dict[str, list] = {"resid_in": [], "attn": [], "act": [], "resid_out": []}
    for layer in core.layers:
        attn, _ = layer.self_attn(hidden_states=layer.input_layernorm(h), position_embeddings=cos_sin,
                                  attention_mask=mask)
        mid = h + attn
        y = layer.post_attention_layernorm(mid)
        act = layer.mlp.act_fn(layer.mlp.gate_proj(y)) * layer.mlp.up_proj(y)
        new = mid + layer.mlp.down_proj(act)
        for key, value in (("resid_in", h), ("attn", attn), ("act", act), ("resid_out", new)):
            out[key].append(value[0, -1])
        h = new
    out["logits"] = model.lm_head(core.norm(h))[0, -1]
    return out


@torch.no_grad()
def lens_logprob(model, h: torch.Tensor, token: int) -> float:
    """log p(token | h) through the final norm and the unembedding, for one vector."""
    return float(torch.log_softmax(model.lm_head(model.model.norm(h)), -1)[token])
