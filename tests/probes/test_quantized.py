"""Quantized layers are dequantized for the attribution (bitsandbytes, compressed-tensors RTN), not skipped."""

from __future__ import annotations

import importlib.util
import math

import pytest
import torch
from lm_eval.api.instance import Instance

from qxbench.interp.arch import arch_of
from qxbench.interp.internals import compute_dtype
from qxbench.probes.attribution import down_weights
from qxbench.world.data import read_rows

BACKENDS = [
    pytest.param("bnb-nf4", marks=pytest.mark.skipif(importlib.util.find_spec("bitsandbytes") is None,
                                                     reason="bitsandbytes not installed")),
    pytest.param("rtn", marks=pytest.mark.skipif(importlib.util.find_spec("llmcompressor") is None,
                                                 reason="llmcompressor not installed")),
    pytest.param("awq", marks=[pytest.mark.slow,  # quantizing with 128 calibration samples takes seconds
                               pytest.mark.skipif(importlib.util.find_spec("gptqmodel") is None,
                                                  reason="gptqmodel not installed")]),
]


@pytest.fixture(scope="module")
def fp():
    from qxbench.lmeval.adapter import QXLM

    return QXLM(device="cpu", batch_size=16)


@pytest.fixture(scope="module", params=BACKENDS)
def quantized(request, quantized_tiny):
    return quantized_tiny(quant=request.param, bits=4, batch_size=16)


@torch.no_grad()
def test_dense_weight_reproduces_each_quantized_down_projection(quantized, fp):
    spec = arch_of(quantized.model)
    torch.manual_seed(0)
    ids = torch.tensor([[3, 40, 41, 7, 9]])
    before = quantized.model(ids).logits
    weights = down_weights(quantized.model)
    assert torch.equal(quantized.model(ids).logits, before)  # reading the weights leaves the model as it was
    blocks = zip(quantized.model.get_submodule(spec.layers), fp.model.get_submodule(spec.layers), strict=True)
    for w, (block, fp_block) in zip(weights, blocks, strict=True):
        module = block.get_submodule(spec.mlp_out)
        x = torch.randn(5, w.shape[1]).to(compute_dtype(quantized.model))
        out = module(x).float()
        # the layer computes with this matrix, up to its kernel's own rounding (bf16 compute on CPU)
        assert (out - x.float() @ w.T).norm() < 0.02 * out.norm()
        fp_w = fp_block.get_submodule(spec.mlp_out).weight
        error = (w - fp_w).abs().mean() / fp_w.abs().mean()
        assert 0.01 < error < 0.5  # really the 4-bit weight: near full precision, not equal to it


def test_memorize_on_a_quantized_model_scores_every_neuron_against_the_fp_reference(quantized):
    facts = read_rows("facts")[:3]
    results = quantized.qx_memorize([Instance("qx_memorize", {}, (f["prompt"], f["object"]), 0) for f in facts])
    assert quantized.reference_lm() is not quantized
    assert quantized.reference_lm().qx.quant == "none"
    for res in results:
        top = res.attribution.top
        assert len(top) == 300
        assert all(0 <= layer < 4 and 0 <= n < 768 and math.isfinite(s) for layer, n, s in top)
        assert res.surviving is not None and res.surviving != 300 or res.overlap < 1.0
        assert 0.5 < res.overlap <= 1.0


def test_integrated_gradients_flow_through_quantized_layers_or_say_why_not(quantized):
    """bnb 4-bit on CPU must not switch to its inference-only kernel (no gradient to the input);
    gptqmodel's CPU AWQ kernel has no backward after its first inference: one line, no fallback."""
    from qxbench.errors import QxError
    from qxbench.interp.internals import pad_batch
    from qxbench.probes.neurons import integrated_gradients

    texts = [quantized._ids(f["prompt"]) for f in read_rows("facts")[:2]]
    with torch.no_grad():
        quantized.model(torch.tensor([texts[0]]))  # a no-grad forward first, as in an evaluation
    ids, mask, last = pad_batch(texts, quantized._pad_id(), torch.device("cpu"))
    module = quantized.model.model.layers[1].mlp.act_fn  # the neurons probe attributes the act_fn output
    if quantized.qx.quant == "awq":
        with pytest.raises(QxError, match="Integrated gradients need gradients through every layer after"):
            integrated_gradients(quantized.model, module, ids, mask, last, steps=2)
        return
    attr, _ = integrated_gradients(quantized.model, module, ids, mask, last, steps=2)
    assert torch.isfinite(attr).all()
    assert attr.abs().sum() > 0
