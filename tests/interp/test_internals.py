"""The hook readers against a by-hand forward pass, |delta| < 1e-5."""

from __future__ import annotations

import pytest
import torch

from qxbench.interp.arch import arch_of
from qxbench.interp.internals import dense_weight, logit_lens, read_last_token
from tests.reference_pass import manual_gemma, manual_llama

PROMPTS = [[1, 5, 9, 3, 7, 2], [4, 4, 8], [11, 2, 30, 31, 6, 6, 6, 1, 9]]


def _hook_count(model) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_last_token_reads_equal_a_manual_forward_for_every_prompt_in_a_padded_batch(tiny_llama):
    reads = read_last_token(tiny_llama, PROMPTS, pad_id=0)
    for b, ids in enumerate(PROMPTS):
        ref = manual_llama(tiny_llama, ids)
        for key in ("resid_in", "attn", "act", "resid_out"):
            got = getattr(reads, key)[b]
            assert torch.allclose(got, torch.stack(ref[key]), atol=1e-5), key
        assert torch.allclose(reads.logits[b], ref["logits"], atol=1e-5)


def test_hooks_are_removed_after_the_pass_and_after_a_failure(tiny_llama):
    before = _hook_count(tiny_llama)
    read_last_token(tiny_llama, PROMPTS)
    assert _hook_count(tiny_llama) == before
    with pytest.raises(IndexError):
        read_last_token(tiny_llama, [[1, 2, 999]])  # token id beyond the vocabulary
    assert _hook_count(tiny_llama) == before


def test_gpt2_blocks_decompose_into_attention_plus_mlp(tiny_gpt2):
    reads = read_last_token(tiny_gpt2, PROMPTS)
    spec = arch_of(tiny_gpt2)
    w = dense_weight(tiny_gpt2.get_submodule(spec.layers)[0].get_submodule(spec.mlp_out))
    bias = tiny_gpt2.transformer.h[0].mlp.c_proj.bias
    mlp = reads.act[:, 0] @ w.T + bias
    assert torch.allclose(reads.resid_mid[:, 0] + mlp, reads.resid_out[:, 0], atol=1e-5)
    hidden = tiny_gpt2(torch.tensor([PROMPTS[0]]), output_hidden_states=True).hidden_states
    assert torch.allclose(reads.resid_out[0, 0], hidden[1][0, -1], atol=1e-5)


def test_logit_lens_of_the_last_residual_is_the_models_output(tiny_llama):
    reads = read_last_token(tiny_llama, PROMPTS)
    lens = logit_lens(tiny_llama, reads.resid_out[:, -1])
    assert torch.allclose(lens, torch.log_softmax(reads.logits, -1), atol=1e-5)


@pytest.mark.parametrize("name", ["tiny_gemma", "tiny_gemma2"])
def test_gemma_reads_equal_a_manual_forward_and_blocks_decompose(name, request):
    """The attention read is the normed sublayer output, so h_out = h_in + attn + post_ffn_norm(mlp)."""
    model = request.getfixturevalue(name)
    reads = read_last_token(model, PROMPTS[:2], pad_id=0)
    for b, ids in enumerate(PROMPTS[:2]):
        ref = manual_gemma(model, ids)
        for key in ("resid_in", "attn", "act", "mlp", "resid_out"):
            assert torch.allclose(getattr(reads, key)[b], torch.stack(ref[key]), atol=1e-5), key
        assert torch.allclose(reads.logits[b], ref["logits"], atol=1e-5)
        lens = logit_lens(model, reads.resid_out[b, -1])  # the (1 + w) final norm and the soft-cap
        assert torch.allclose(lens, torch.log_softmax(reads.logits[b], -1), atol=1e-5)


def test_dense_weight_of_a_plain_linear_is_its_weight():
    layer = torch.nn.Linear(5, 3)
    assert torch.equal(dense_weight(layer), layer.weight.detach())


def test_dense_weight_of_a_module_without_a_weight_is_recovered_from_its_forward():
    class Packed(torch.nn.Module):  # stands in for a packed kernel: no .weight, only a forward
        in_features = 4

        def __init__(self):
            super().__init__()
            self.register_buffer("w", torch.randn(6, 4))
            self.register_buffer("b", torch.randn(6))

        def forward(self, x):
            return x @ self.w.T + self.b

    packed = Packed()
    assert torch.allclose(dense_weight(packed, chunk=3), packed.w, atol=1e-6)


@pytest.mark.real
@pytest.mark.parametrize("name", ["smollm2", "gemma3", "qwen05"])
def test_the_last_layers_logit_lens_is_the_real_models_own_output(name, request):
    """An invariant that catches a wrong final norm, (1 + w), embedding scale or soft-cap: the logit lens
    of the last block's output, and memorize's fixed-scale lens (eps 1e-6), are the model's log-probs."""
    from qxbench.probes.attribution import Lens

    model, tok = request.getfixturevalue(name)
    prompts = [tok(p)["input_ids"] for p in ("The capital of France is", "Water freezes at zero degrees")]
    reads = read_last_token(model, prompts, pad_id=tok.pad_token_id)
    own = torch.log_softmax(reads.logits, -1)
    assert (logit_lens(model, reads.resid_out[:, -1]) - own).abs().max() < 1e-4
    for b in range(len(prompts)):
        fixed = Lens(model, "fixed", reads.resid_out[b, -1])
        assert (torch.log_softmax(fixed.logits(reads.resid_out[b, -1]), -1) - own[b]).abs().max() < 1e-4
