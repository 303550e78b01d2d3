"""Salient neurons: the order of equal scores, the union over aggregations, a document without keys, and
integrated gradients on a tiny Llama leaving the parameters as it found them and attributing each padded row's
greedy token. The reference's aggregations and captum's numbers: tests/probes/test_neurons.py."""

from __future__ import annotations

import torch

from qxbench.interp.internals import pad_batch
from qxbench.probes import salient as sal


def test_equal_scores_keep_index_order_and_an_empty_vector_has_none():
    assert sal.salient_indices(torch.tensor([-2.0, 1.0, 2.0, 2.0, 1.5]), 0.7) == ((0, 2, 3, 4), (1.0, 1.0, 1.0, 0.75))
    assert sal.salient_indices(torch.zeros(0), 0.7) == ((), ())


def test_the_union_is_every_aggregation_s_neurons():
    found = sal.Salient({"best_word": (4,), "sum": (1, 2), "avg": (2,), "max": ()}, {}, 3, 0)
    assert found.union() == {1, 2, 4}


def test_a_document_without_keys_has_no_best_key_and_no_scores():
    empty = sal.aggregate(torch.zeros(1, 0, 5), [], [0], 0.7)
    assert empty.best_key == -1
    assert empty.scores == {a: () for a in sal.AGGREGATIONS}


def test_integrated_gradients_leave_a_frozen_parameter_frozen(tiny_llama):
    frozen = tiny_llama.model.embed_tokens.weight
    frozen.requires_grad_(False)
    try:
        sal.integrated_gradients(tiny_llama, tiny_llama.model.layers[0].mlp.act_fn, [1, 5, 9], [3], steps=2)
        assert not frozen.requires_grad, "a frozen parameter was left trainable"
        assert tiny_llama.lm_head.weight.requires_grad, "a trainable parameter was left frozen"
    finally:
        frozen.requires_grad_(True)


def test_no_target_token_gives_an_empty_attribution_per_layer(tiny_llama):
    act = tiny_llama.model.layers[0].mlp.act_fn
    (attr,) = sal.layer_integrated_gradients(tiny_llama, [(None, act)], [1, 5, 9], [], steps=2)
    assert attr.shape == (0, 3, 0)


def test_a_padded_row_attributes_its_own_greedy_token(tiny_llama):
    texts, act = [[1, 5, 9, 3], [4, 8]], tiny_llama.model.layers[1].mlp.act_fn
    ids, mask, last = pad_batch(texts, 0, torch.device("cpu"))
    attr, targets = sal.greedy_integrated_gradients(tiny_llama, act, ids, mask, last, steps=2)
    with torch.no_grad():
        greedy = int(tiny_llama(torch.tensor([texts[1]])).logits[0, -1].argmax())
    assert int(targets[1]) == greedy, "not the greedy token after the row's last real token"
    alone = sal.integrated_gradients(tiny_llama, act, texts[1], [greedy], steps=2)[0]
    assert torch.allclose(attr[1, :2], alone, atol=1e-6), "the padded row is not attributed on its own tokens"
