"""memorize on Qwen2.5-Coder 0.5B: the bounded search equals scoring every neuron through its 151,936-token
unembedding (untied ``lm_head``), on the real model's activations.

Scoring all 116,736 neurons of one fact densely takes ~10 min on 2 cores (four layers: 98 s), so CI scores
the last two layers' 9,728 densely (the search runs on the same code path, on any subset of layers).
"""

from __future__ import annotations

import time

import pytest

from qxbench.interp.internals import read_last_token
from qxbench.probes.attribution import Lens, _neurons, dense_weight, down_weights, ffn_scales

from .conftest import assert_same_top

pytestmark = pytest.mark.real
LAYERS = [22, 23]


def test_bounded_search_equals_every_neuron_on_qwen(qwen05):
    model, tok = qwen05
    assert model.config.model_type == "qwen2"
    assert not model.config.tie_word_embeddings
    reads = read_last_token(model, [tok("The capital of France is")["input_ids"]])
    target = int(reads.logits[0].argmax())
    assert tok.decode([target]) == " Paris"
    lens = Lens(model, "fixed", reads.resid_out[0, -1])
    weights = down_weights(model)
    mid = reads.resid_mid[0][LAYERS]
    acts = (reads.act[0] * ffn_scales(model, reads.mlp[0])[:, None])[LAYERS]
    w = [weights[layer] for layer in LAYERS]
    logits = lens.logits(mid)
    start = time.perf_counter()
    top, _, own, scored = _neurons(lens, mid, logits, acts, w, target, [], dense_weight(model.lm_head))
    bounded_s = time.perf_counter() - start
    start = time.perf_counter()
    d_top, d_counts, d_own, d_scored = _neurons(lens, mid, logits, acts, w, target, [top[-1][2]], None)
    dense_s = time.perf_counter() - start
    assert d_scored == len(LAYERS) * model.config.intermediate_size
    assert_same_top(top, d_top, 1e-5)
    assert own == d_own == d_counts[top[-1][2]]
    print(f"{len(LAYERS)} layers: dense {dense_s:.1f} s, bounded {bounded_s:.1f} s ({scored} of {d_scored} scored)")
    assert scored * 10 <= d_scored, f"the bound scored {scored} of {d_scored} neurons"


def test_bounded_search_equals_every_neuron_on_qwen_in_bfloat16(qwen05_dir):
    """In bfloat16 the fixed-scale lens computes in float32 over the model's own weights, so the bound's
    float32 margin holds: the same top 300 as dense scoring (0.88 of it shared when the lens computed in
    bfloat16). One layer, 4,864 neurons densely."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(qwen05_dir, dtype=torch.bfloat16).eval()
    tok = AutoTokenizer.from_pretrained(qwen05_dir)
    reads = read_last_token(model, [tok("The capital city of Canada is")["input_ids"]])
    target = int(reads.logits[0].argmax())
    w_unembed = dense_weight(model.lm_head)
    lens = Lens(model, "fixed", reads.resid_out[0, -1], w_unembed)
    layers = [23]
    mid = reads.resid_mid[0][layers]
    acts = (reads.act[0] * ffn_scales(model, reads.mlp[0])[:, None])[layers]
    w = [down_weights(model)[layer] for layer in layers]
    logits = lens.logits(mid)
    top, _, own, scored = _neurons(lens, mid, logits, acts, w, target, [], w_unembed)
    d_top, d_counts, d_own, d_scored = _neurons(lens, mid, logits, acts, w, target, [top[-1][2]], None)
    assert d_scored == model.config.intermediate_size
    assert scored < d_scored
    assert_same_top(top, d_top, 1e-5)
    assert own == d_own == d_counts[top[-1][2]]
