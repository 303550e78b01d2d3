"""Neuron statistics against direct computations on small tensors and a tiny model."""

from __future__ import annotations

import pytest
import torch

from qxbench.errors import QxError
from qxbench.probes.internals import pad_batch
from qxbench.probes.neurons import (
    NeuronOptions,
    abs_corr_histogram,
    corpus_stats,
    integrated_gradients,
    salient_counts,
)

TEXTS = [[1, 5, 9, 3, 7, 2], [4, 4, 8], [11, 2, 30, 31, 6, 6, 6, 1, 9], [3, 3]]


def test_histogram_of_pairwise_correlations_matches_a_direct_count():
    torch.manual_seed(1)
    x = torch.randn(200, 7, dtype=torch.float64)
    x[:, 3] = x[:, 2] * 2 + 0.01 * x[:, 3]  # a nearly redundant pair
    x[:, 5] = 1.5  # a constant neuron: its pairs are undefined
    counts, share = abs_corr_histogram(x, block=3)  # blocks of 3 neurons: the matrix is never whole
    corr = torch.corrcoef(x.T)
    pairs = [abs(float(corr[i, j])) for i in range(7) for j in range(i + 1, 7) if 5 not in (i, j)]
    expected = [0] * 10
    for r in pairs:
        expected[min(int(r * 10), 9)] += 1
    assert counts == expected and sum(counts) == 15  # 21 pairs minus the 6 of the constant neuron
    assert share == pytest.approx(sum(r > 0.9 for r in pairs) / len(pairs)) and share > 0


def test_salient_counts_on_a_hand_made_case():
    attr = torch.tensor([[1.0, -4.0, 0.0], [2.0, 0.5, -3.0], [0.0, 0.0, 0.0]])  # third row: padding
    counts = salient_counts(attr, length=2, threshold=0.7)
    # top (last real token): |2, .5, 3| / 3 -> only neuron 2; sum: 3, 4.5, 3 / 4.5 -> neuron 1 only (3/4.5 = .67)
    # mean: same ranking as sum; max: 2, 4, 3 / 4 -> neurons 1 and 2 (3/4 = .75)
    assert counts == {"top": 1, "sum": 1, "mean": 1, "max": 2}
    assert salient_counts(torch.zeros(2, 3), 2, 0.7) == {"top": 0, "sum": 0, "mean": 0, "max": 0}


def test_dead_neurons_match_a_direct_count_per_document(tiny_llama):
    acts = []
    down = tiny_llama.model.layers[1].mlp.down_proj
    handle = down.register_forward_pre_hook(lambda _m, args: acts.append(args[0][0].abs().max(0).values))
    try:
        with torch.no_grad():
            for ids in TEXTS:
                tiny_llama(torch.tensor([ids]))
    finally:
        handle.remove()
    peak = torch.stack(acts).max(0).values
    threshold = float(peak.median())
    stats = corpus_stats(tiny_llama, TEXTS, NeuronOptions(layers="1", dead_threshold=threshold), batch_size=3)
    assert stats.layers == [1] and stats.neurons == [48] and stats.tokens == sum(map(len, TEXTS))
    assert stats.dead == [int((peak < threshold).sum())] and 0 < stats.dead[0] < 48
    assert sum(stats.redundancy_hist[0]) == 48 * 47 // 2


def _log_p(model, ids, module, scale, act, target):
    handle = module.register_forward_pre_hook(lambda _m, args: (scale * act, *args[1:]))
    try:
        with torch.no_grad():
            return float(torch.log_softmax(model(torch.tensor([ids])).logits[0, -1], -1)[target])
    finally:
        handle.remove()


def test_integrated_gradients_match_a_direct_riemann_sum_and_are_complete(tiny_llama):
    module = tiny_llama.model.layers[0].mlp.down_proj
    ids, mask, last = pad_batch(TEXTS[:2], 0, torch.device("cpu"))
    attr, targets = integrated_gradients(tiny_llama, module, ids, mask, last, steps=64)
    for b, seq in enumerate(TEXTS[:2]):
        grabbed = {}
        h = module.register_forward_pre_hook(lambda _m, args, g=grabbed: g.__setitem__("a", args[0].detach()))
        with torch.no_grad():
            tiny_llama(torch.tensor([seq]))
        h.remove()
        act, total = grabbed["a"], torch.zeros_like(grabbed["a"])
        for k in range(64):  # one document, one alpha at a time
            x = ((k + 0.5) / 64 * act).requires_grad_(True)
            h = module.register_forward_pre_hook(lambda _m, args, x=x: (x, *args[1:]))
            lp = torch.log_softmax(tiny_llama(torch.tensor([seq])).logits[0, -1], -1)[targets[b]]
            h.remove()
            total += torch.autograd.grad(lp, x)[0]
        direct = (act * total / 64)[0]
        assert torch.allclose(attr[b, :len(seq)], direct, rtol=1e-4, atol=1e-8)
        assert float(attr[b, len(seq):].abs().sum()) == 0.0  # padding carries nothing
        gain = _log_p(tiny_llama, seq, module, 1.0, act, targets[b]) - _log_p(tiny_llama, seq, module, 0.0, act,
                                                                                targets[b])
        assert float(attr[b].sum()) == pytest.approx(gain, abs=2e-3)  # completeness


def test_options_and_layers():
    assert NeuronOptions().layer_indices(4) == [0, 2, 3]
    assert NeuronOptions(layers="0,-1,last").layer_indices(4) == [0, 3]
    opts = NeuronOptions.from_metadata({"layers": "first", "ig_steps": "8", "version": 1.0, "quant": "none"})
    assert opts.ig_steps == 8 and opts.layers == "first"
    with pytest.raises(QxError, match="Unknown neurons option 'ig_step'. Did you mean 'ig_steps'"):
        NeuronOptions.from_metadata({"ig_step": 8})
    with pytest.raises(QxError, match="is not a int"):
        NeuronOptions.from_metadata({"ig_steps": "many"})
    with pytest.raises(QxError, match="out of range for a model with 4 layers"):
        NeuronOptions(layers="7").layer_indices(4)
    with pytest.raises(QxError, match="use first, middle, last"):
        NeuronOptions(layers="top").layer_indices(4)


def test_a_layer_without_a_backward_pass_is_one_line(tiny_llama):
    module = tiny_llama.model.layers[0].mlp.down_proj
    ids, mask, last = pad_batch(TEXTS[:1], 0, torch.device("cpu"))
    blocker = tiny_llama.model.layers[1].register_forward_hook(lambda _m, _a, out: out.detach())
    try:
        with pytest.raises(QxError, match="Integrated gradients need gradients through every layer after Linear"):
            integrated_gradients(tiny_llama, module, ids, mask, last, steps=1)
    finally:
        blocker.remove()
