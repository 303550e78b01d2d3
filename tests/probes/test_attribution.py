"""Attribution formulas against a by-hand computation: one prompt, one layer, one neuron at a time."""

from __future__ import annotations

import math

import pytest
import torch

from qxbench.probes.attribution import (
    attribute,
    count_at_least,
    surviving,
    top_k_overlap,
    top_k_threshold,
)

from .conftest import lens_logprob, manual_llama

PROMPTS = [[1, 5, 9, 3, 7, 2], [4, 4, 8], [11, 2, 30, 31, 6, 6, 6, 1, 9]]
TARGETS = [17, 3, 40]


def test_imp_scores_match_the_definition_neuron_by_neuron(tiny_llama):
    got = attribute(tiny_llama, PROMPTS, TARGETS)  # batched, padded
    for ids, target, attr in zip(PROMPTS, TARGETS, got, strict=True):
        ref = manual_llama(tiny_llama, ids)
        logprobs = torch.log_softmax(ref["logits"], -1)
        assert attr.gold_logprob == pytest.approx(float(logprobs[target]), abs=1e-5)
        assert attr.gold_rank == 1 + sum(float(x) > float(logprobs[target]) for x in logprobs)
        for layer, block in enumerate(tiny_llama.model.layers):
            h, attn = ref["resid_in"][layer], ref["attn"][layer]
            mid = h + attn
            w = block.mlp.down_proj.weight
            mlp = ref["resid_out"][layer] - mid
            assert attr.attn_imp[layer] == pytest.approx(
                lens_logprob(tiny_llama, h + attn, target) - lens_logprob(tiny_llama, h, target), abs=1e-5)
            assert attr.ffn_imp[layer] == pytest.approx(
                lens_logprob(tiny_llama, mid + mlp, target) - lens_logprob(tiny_llama, mid, target), abs=1e-5)
            base = lens_logprob(tiny_llama, mid, target)
            for neuron in range(w.shape[1]):
                v = ref["act"][layer][neuron] * w[:, neuron]
                expected = lens_logprob(tiny_llama, mid + v, target) - base
                assert float(attr.neuron_scores[layer, neuron]) == pytest.approx(expected, abs=1e-5)


def test_top_k_threshold_and_counts_on_a_hand_made_case():
    scores = torch.tensor([[0.5, -1.0, 2.0], [0.1, 3.0, 0.5]])
    assert top_k_threshold(scores, 2) == 2.0
    assert top_k_threshold(scores, 4) == 0.5
    assert top_k_threshold(scores, 100) == -1.0  # fewer neurons than k: all of them
    assert math.isnan(top_k_threshold(torch.tensor([]), 3))
    assert count_at_least(scores, 0.5) == 4  # ties at tau count
    other = torch.tensor([[0.9, 0.0, 2.5], [0.0, 0.1, 0.0]])
    assert surviving(other, scores, k=2) == 1  # tau = 2.0 from the reference; only 2.5 reaches it
    assert surviving(scores, scores, k=2) == 2  # the reference itself keeps exactly its top k
    assert top_k_overlap(other, scores, k=2) == 0.5  # top-2 here: flat {2, 0}; reference: {4, 2}
    assert top_k_overlap(scores, scores, k=2) == 1.0
