"""memorize on Gemma 3 270M: the bounded search equals scoring every neuron through its 262,144-token
unembedding, on the real model's effective activations (a_i times the FFN norm's fixed scale).

Scoring all 36,864 neurons of one fact takes ~2 min on 2 cores, so CI scores the last four layers'
8,192 densely (the search runs on the same code path, on any subset of layers); the whole model,
dense vs bounded, is measured by ``python -m benchmarks.checks.fidelity_memorize_multihop --model gemma3-270m``
(``benchmarks/results/fidelity_memorize_multihop_gemma3-270m.json``: same top 300, same scores and count).
"""

from __future__ import annotations

import time

import pytest

from qxbench.interp.internals import read_last_token
from qxbench.probes.attribution import Lens, _neurons, dense_weight, down_weights, ffn_scales

from .conftest import assert_same_top

pytestmark = pytest.mark.real
LAYERS = [14, 15, 16, 17]


def test_bounded_search_equals_every_neuron_on_gemma(gemma3):
    model, tok = gemma3
    reads = read_last_token(model, [tok("The capital of France is")["input_ids"]])
    target = int(reads.logits[0].argmax())
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
    assert d_scored == len(LAYERS) * 2048
    assert scored < d_scored / 4
    assert_same_top(top, d_top, 1e-5)
    assert own == d_own == d_counts[top[-1][2]]
    print(f"{len(LAYERS)} layers: dense {dense_s:.1f} s, bounded {bounded_s:.1f} s ({scored} of {d_scored} scored)")
