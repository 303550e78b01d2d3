"""Tiny random models and a straightforward reference forward pass (one prompt, layer by layer)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def tiny_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=3,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                         attn_implementation="eager")
    return LlamaForCausalLM(config).eval()


@pytest.fixture(scope="session")
def tiny_gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=64, n_embd=32, n_layer=2, n_head=4, n_positions=64, attn_implementation="eager")
    return GPT2LMHeadModel(config).eval()


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


def assert_same_top(mine, reference, tol: float) -> None:
    """Two top-k neuron lists [(layer, neuron, score)] agree: every neuron in both scores the same
    within ``tol``, and a neuron in only one of them is a float tie at the boundary (its score within
    ``tol`` of the other list's k-th score). The order of scores within ``tol`` of each other is
    float noise (different matrix shapes round differently), so only the sorted scores are compared."""
    a = {(int(x[0]), int(x[1])): float(x[2]) for x in mine}
    b = {(int(x[0]), int(x[1])): float(x[2]) for x in reference}
    assert len(a) == len(b)
    for key in a.keys() & b.keys():
        assert abs(a[key] - b[key]) < tol, (key, a[key], b[key])
    tau_a, tau_b = min(a.values()), min(b.values())
    for key in a.keys() - b.keys():
        assert abs(a[key] - tau_b) < tol, ("only in the first", key, a[key], tau_b)
    for key in b.keys() - a.keys():
        assert abs(b[key] - tau_a) < tol, ("only in the second", key, b[key], tau_a)
    assert sorted(a.values()) == __import__("pytest").approx(sorted(b.values()), abs=tol)
    assert len(a.keys() & b.keys()) >= 0.99 * len(b)
