"""Straightforward reference forward passes (Llama, Gemma 2/3: one prompt, layer by layer), shared by the
tests of qxbench.interp and qxbench.probes (the tiny models are fixtures of tests/conftest.py)."""

from __future__ import annotations

import inspect

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


@torch.no_grad()
def manual_gemma(model, ids: list[int]) -> dict[str, list[torch.Tensor] | torch.Tensor]:
    """Gemma 2/3 by hand for one unpadded prompt: scaled embedding, a sliding-window causal mask on the
    sliding layers, each sublayer's output normed before the residual add, (1 + w) norms, soft-cap."""
    core = model.model
    x = torch.tensor([ids])
    h = core.embed_tokens.weight[x] * model.config.hidden_size ** 0.5
    pos = torch.arange(len(ids))
    ahead = pos[None, :] > pos[:, None]
    window = pos[:, None] - pos[None, :] >= model.config.sliding_window
    out: dict[str, list] = {"resid_in": [], "attn": [], "act": [], "mlp": [], "resid_out": []}
    for i, layer in enumerate(core.layers):
        kind = model.config.layer_types[i]
        blocked = ahead | window if kind == "sliding_attention" else ahead
        mask = torch.zeros(len(ids), len(ids)).masked_fill(blocked, float("-inf"))[None, None]
        per_kind = "layer_type" in inspect.signature(core.rotary_emb.forward).parameters  # Gemma 3: two RoPE bases
        cos_sin = core.rotary_emb(h, pos[None], kind) if per_kind else core.rotary_emb(h, pos[None])
        a, _ = layer.self_attn(hidden_states=layer.input_layernorm(h), position_embeddings=cos_sin,
                               attention_mask=mask)
        attn = layer.post_attention_layernorm(a)
        mid = h + attn
        y = layer.pre_feedforward_layernorm(mid)
        act = layer.mlp.act_fn(layer.mlp.gate_proj(y)) * layer.mlp.up_proj(y)
        mlp = layer.mlp.down_proj(act)
        new = mid + layer.post_feedforward_layernorm(mlp)
        for key, value in (("resid_in", h), ("attn", attn), ("act", act), ("mlp", mlp), ("resid_out", new)):
            out[key].append(value[0, -1])
        h = new
    w = 1 + core.norm.weight
    z = model.lm_head(h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + core.norm.eps) * w)[0, -1]
    cap = model.config.final_logit_softcapping
    out["logits"] = z if cap is None else torch.tanh(z / cap) * cap
    return out
