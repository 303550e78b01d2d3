"""Neuron statistics against direct computations: hand-made attribution arrays for the reference's
aggregations (both key modes), and tiny models for the hooks and the integrated gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from qxbench.errors import QxError
from qxbench.interp.internals import pad_batch
from qxbench.probes import salient as sal
from qxbench.probes.neurons import (
    NeuronOptions,
    abs_corr_histogram,
    act_modules,
    analyse,
    corpus_stats,
    integrated_gradients,
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
    assert counts == expected
    assert sum(counts) == 15  # 21 pairs minus the 6 of the constant neuron
    assert share == pytest.approx(sum(r > 0.9 for r in pairs) / len(pairs))
    assert share > 0


# -- the reference's aggregations on hand-made arrays ---------------------------------------------
# One target token, prompt ids [5, 7, 5, 9]: token 5 repeats (positions 0 and 2).
IDS = [5, 7, 5, 9]
ATTR = torch.tensor([[[4.0, 0.0, 1.0],     # position 0 (token 5, first occurrence)
                      [0.0, 2.0, -3.0],    # position 1 (token 7)
                      [1.0, 1.0, 0.0],     # position 2 (token 5, last occurrence)
                      [-1.0, 0.5, 0.5]]])  # position 3 (token 9)


def test_key_rows_per_position_and_per_token_string():
    assert sal.key_rows(IDS, "position") == [0, 1, 2, 3]
    # string keys: one per distinct token, in first-occurrence order, holding the LAST occurrence's row
    assert sal.key_rows(IDS, "string") == [2, 1, 3]
    assert sal.key_rows([], "string") == []
    with pytest.raises(QxError, match="token_keys 'word': use position or string"):
        sal.key_rows(IDS, "word")


def test_aggregations_by_position():
    found, seq, best = sal.vectors(ATTR, sal.key_rows(IDS, "position"), [0])
    assert seq.tolist() == [5.0, -1.0, 2.0, 0.0]
    assert best == 0  # the largest sequence attribution
    assert found["best_word"].tolist() == [4.0, 0.0, 1.0]
    assert found["sum"].tolist() == [6.0, 3.5, 4.5]  # sum of |v| over the four positions
    assert found["avg"].tolist() == [1.5, 0.875, 1.125]
    assert found["max"].tolist() == [4.0, 2.0, 1.0]  # signed maximum
    s = sal.aggregate(ATTR, [0, 1, 2, 3], [0], 0.7)
    # |v|/max: best [1, 0, .25] -> {0}; sum [1, .583, .75] -> {0, 2}; avg as sum; max [1, .5, .25] -> {0}
    assert s.neurons == {"best_word": (0,), "sum": (0, 2), "avg": (0, 2), "max": (0,)}
    assert s.scores["sum"] == pytest.approx((1.0, 0.75))
    assert s.keys == 4
    assert s.best_key == 0


def test_aggregations_by_token_string_reproduce_the_reference_collapse():
    """Token 5's first row (the best position above) is overwritten by its last: the best word moves to
    token 5 = row 2 (seq 2) and the sum loses row 0; avg divides by 3 keys."""
    found, seq, best = sal.vectors(ATTR, sal.key_rows(IDS, "string"), [0])
    assert seq.tolist() == [2.0, -1.0, 0.0]
    assert best == 0
    assert found["best_word"].tolist() == [1.0, 1.0, 0.0]
    assert found["sum"].tolist() == [2.0, 3.5, 3.5]
    assert found["avg"].tolist() == pytest.approx([2 / 3, 3.5 / 3, 3.5 / 3])
    assert found["max"].tolist() == [1.0, 2.0, 0.5]
    s = sal.aggregate(ATTR, [2, 1, 3], [0], 0.7)
    assert s.neurons == {"best_word": (0, 1), "sum": (1, 2), "avg": (1, 2), "max": (1,)}
    assert s.keys == 3
    assert s.best_key == 2


def test_threshold_is_strict_and_zero_or_nan_vectors_have_no_salient_neuron():
    assert sal.salient_indices(torch.tensor([10.0, 7.0, -8.0]), 0.7) == ((0, 2), (1.0, 0.8))  # 0.7 itself is out
    assert sal.salient_indices(torch.zeros(4), 0.7) == ((), ())
    assert sal.salient_indices(torch.tensor([float("nan"), 1.0]), 0.7) == ((), ())
    s = sal.aggregate(torch.zeros(1, 3, 5), [0, 1, 2], [0], 0.7)
    assert s.neurons == {a: () for a in sal.AGGREGATIONS}
    assert s.union() == set()
    assert sal.aggregate(torch.zeros(1, 0, 5), [], [0], 0.7).keys == 0  # an empty prompt: no keys, no neurons


def test_multi_token_targets_sum_rows_and_string_keys_collapse_repeated_targets():
    two = torch.stack([ATTR[0], -2 * ATTR[0], 3 * ATTR[0]])  # three target tokens, the first and last equal
    found, seq, _ = sal.vectors(two, [0, 1, 2, 3], [0, 1, 2])
    assert torch.equal(found["best_word"], 2 * ATTR[0, 0].double())  # (1 - 2 + 3) x row 0
    # under string keys the neuron vectors keep the last of the repeated target string (rows 1, 2: -2 + 3),
    # while the sequence attribution still sums all three (llm_attr.py:561 and the attr.sum(0) after it)
    found_s, seq_s, _ = sal.vectors(two, [0, 1, 2, 3], [2, 1])
    assert torch.equal(found_s["best_word"], ATTR[0, 0].double())
    assert torch.equal(seq_s, seq)


def test_targets_are_the_stripped_generated_text_re_encoded(embedded_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(embedded_path)
    prompt = tok.encode("Review: great\nSentiment:", add_special_tokens=False)
    (positive,) = tok.encode(" positive", add_special_tokens=False)
    assert sal.target_tokens(tok, prompt, positive) == tok.encode("positive", add_special_tokens=False)
    assert len(sal.target_tokens(tok, prompt, positive)) > 1  # a multi-token target on this tokenizer
    assert sal.target_tokens(tok, prompt, tok.eos_token_id) == []  # a special token: the empty target
    # string keys collapse targets by decoded string
    assert sal.output_rows(tok, [positive, 7, positive], "string") == [2, 1]
    assert sal.output_rows(tok, [positive, 7, positive], "position") == [0, 1, 2]


# -- hooks and integrated gradients on tiny models ------------------------------------------------
def _act_outputs(model, layer: int, texts) -> torch.Tensor:
    acts = []
    handle = model.model.layers[layer].mlp.act_fn.register_forward_hook(lambda _m, _a, out: acts.append(out[0]))
    try:
        with torch.no_grad():
            for ids in texts:
                model(torch.tensor([ids]))
    finally:
        handle.remove()
    return torch.cat(acts)


def test_dead_neurons_are_read_on_the_act_fn_output_with_the_strict_rule(tiny_llama):
    act = _act_outputs(tiny_llama, 1, TEXTS)
    peaks = act.abs().max(0).values.sort().values
    threshold = float(peaks[23] + peaks[24]) / 2  # halfway between two neurons' maxima: no tie at the threshold
    stats = corpus_stats(tiny_llama, TEXTS, NeuronOptions(layers="1", dead_threshold=threshold), batch_size=3)
    dead = ((act > -threshold) & (act < threshold)).all(0)  # 5_dead_neurons.py: -thr < a < thr on every token
    assert stats.layers == [1]
    assert stats.neurons == [48]
    assert stats.tokens == sum(map(len, TEXTS))
    assert stats.dead_indices() == [dead.nonzero().squeeze(1).tolist()]
    assert 0 < stats.dead[0] < 48
    assert stats.dead_indices(0.0) == [[]]
    assert stats.dead_fraction == stats.dead[0] / 48
    assert sum(stats.redundancy_hist[0]) == 48 * 47 // 2


def test_act_modules_find_llama_and_gpt2_activations_and_refuse_a_shared_one(tiny_llama, tiny_gpt2, tiny_gemma):
    assert act_modules(tiny_gemma, [1])[0][1] is tiny_gemma.model.layers[1].mlp.act_fn  # GELU-tanh of the gate
    (block, act), = act_modules(tiny_llama, [2])
    assert block is tiny_llama.model.layers[2]
    assert act is tiny_llama.model.layers[2].mlp.act_fn
    assert act_modules(tiny_gpt2, [1])[0][1] is tiny_gpt2.transformer.h[1].mlp.act
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    shared = LlamaForCausalLM(LlamaConfig(vocab_size=16, hidden_size=8, intermediate_size=8, num_hidden_layers=2,
                                          num_attention_heads=2, num_key_value_heads=2))
    shared.model.layers[1].mlp.act_fn = shared.model.layers[0].mlp.act_fn
    with pytest.raises(QxError, match="shares one activation module between layers"):
        act_modules(shared, [0])
    del shared.model.layers[0].mlp.act_fn, shared.model.layers[1].mlp.act_fn
    with pytest.raises(QxError, match="activation module 'mlp.act_fn', and LlamaDecoderLayer has no such module"):
        act_modules(shared, [0])


def _log_p(model, ids, module, replace, target):
    handle = module.register_forward_hook(lambda _m, _a, _out: replace)
    try:
        with torch.no_grad():
            return float(torch.log_softmax(model(torch.tensor([ids])).logits[0, -1], -1)[target])
    finally:
        handle.remove()


def _direct_ig(model, module, seq, prefix, target, steps):
    """IG by hand, independent of captum: act_fn outputs of prompt + prefix and of [0] * len(prompt) + prefix,
    ``steps`` Gauss-Legendre nodes on [0, 1], one gradient per node; prompt rows of (real - base) x mean grad."""
    real = _act_outputs(model, 0, [seq + prefix])[None]
    base = _act_outputs(model, 0, [[0] * len(seq) + prefix])[None]
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    total = torch.zeros_like(real)
    for x, w in zip(nodes, weights, strict=True):
        point = (base + 0.5 * (1 + x) * (real - base)).requires_grad_(True)
        handle = module.register_forward_hook(lambda _m, _a, _out, p=point: p)
        try:
            lp = torch.log_softmax(model(torch.tensor([seq + prefix])).logits[0, -1], -1)[target]
        finally:
            handle.remove()
        total += 0.5 * w * torch.autograd.grad(lp, point)[0]
    return ((real - base) * total)[0, :len(seq)], real, base


def test_integrated_gradients_match_a_direct_gauss_legendre_sum_and_are_complete(tiny_llama):
    seq, target, module = TEXTS[0], 17, tiny_llama.model.layers[0].mlp.act_fn
    attr = sal.integrated_gradients(tiny_llama, module, seq, [target], steps=16)
    direct, real, base = _direct_ig(tiny_llama, module, seq, [], target, 16)
    assert attr.shape == (1, len(seq), 48)
    assert torch.allclose(attr[0], direct, rtol=1e-4, atol=1e-7)
    gain = _log_p(tiny_llama, seq, module, real, target) - _log_p(tiny_llama, seq, module, base, target)
    assert float(attr.sum()) == pytest.approx(gain, abs=1e-3)  # completeness
    assert all(p.requires_grad for p in tiny_llama.parameters())  # parameters' flags restored


def test_a_multi_token_target_appends_the_earlier_target_tokens_to_both_ends(tiny_llama):
    """Target token k is attributed on prompt + t_<k, the baseline replacing the prompt only (llm_attr.py)."""
    module = tiny_llama.model.layers[0].mlp.act_fn
    attr = sal.integrated_gradients(tiny_llama, module, TEXTS[1], [3, 9, 5], steps=8)
    for k, target in enumerate([3, 9, 5]):
        direct, _, _ = _direct_ig(tiny_llama, module, TEXTS[1], [3, 9, 5][:k], target, 8)
        assert torch.allclose(attr[k], direct, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("name", ["tiny_llama", "tiny_gpt2"])
def test_running_the_earlier_blocks_once_and_splitting_the_steps_change_nothing(name, request):
    model = request.getfixturevalue(name)
    ((block, act),) = act_modules(model, [1])
    full = sal.integrated_gradients(model, act, TEXTS[2], [3, 9], steps=8)
    once = sal.integrated_gradients(model, act, TEXTS[2], [3, 9], steps=8, block=block)
    split = sal.integrated_gradients(model, act, TEXTS[2], [3, 9], steps=8, batch_tokens=20, block=block)
    assert full.shape[:2] == (2, len(TEXTS[2]))
    assert full.abs().sum() > 0
    assert torch.allclose(full, once, atol=1e-6)
    assert torch.allclose(full, split, atol=1e-6)


def test_the_attributions_are_captum_s_layer_integrated_gradients_bit_for_bit(tiny_llama):
    """qxbench runs captum's IntegratedGradients over the layer's output (the endpoint passes shared by the
    layers); captum's LayerIntegratedGradients on the same forward function gives the same floats."""
    from captum.attr import LayerIntegratedGradients

    module, seq, targets = tiny_llama.model.layers[1].mlp.act_fn, TEXTS[2], [3, 9]
    ours = sal.integrated_gradients(tiny_llama, module, seq, targets, steps=8)
    for k, token in enumerate(targets):
        prefix = torch.tensor([targets[:k]], dtype=torch.long)

        def log_p(inp, prefix=prefix, token=token):
            full = torch.cat([inp, prefix.expand(inp.shape[0], -1)], 1)
            return torch.log_softmax(tiny_llama(input_ids=full, logits_to_keep=1).logits[:, -1].float(), -1)[:, token]

        x = torch.tensor([seq])
        theirs = LayerIntegratedGradients(log_p, module).attribute(x, baselines=torch.zeros_like(x), n_steps=8,
                                                                    method="gausslegendre")
        assert torch.equal(ours[k], theirs[0, :len(seq)].float())


@pytest.mark.parametrize("name", ["tiny_llama", "tiny_gpt2"])
def test_several_layers_share_the_endpoint_passes_and_equal_one_layer_at_a_time(name, request):
    """Two endpoint passes (input, baseline) per target token serve every layer, then one pass per layer
    and step batch: the same numbers, bit for bit, as attributing each layer on its own."""
    model = request.getfixturevalue(name)
    layers = act_modules(model, [0, 1])
    calls: list[int] = []
    handle = model.register_forward_pre_hook(lambda _m, _a, kw: calls.append(kw["input_ids"].shape[0]),
                                             with_kwargs=True)
    try:
        together = sal.layer_integrated_gradients(model, layers, TEXTS[2], [3, 9], steps=8)
    finally:
        handle.remove()
    assert calls == [1, 1, 1, 1] * 2  # per target token: input, baseline, then one step batch per layer
    for (block, act), attr in zip(layers, together, strict=True):
        assert torch.equal(attr, sal.integrated_gradients(model, act, TEXTS[2], [3, 9], steps=8, block=block))


def test_a_layer_without_a_backward_pass_is_one_line(tiny_llama):
    module = tiny_llama.model.layers[0].mlp.act_fn
    blocker = tiny_llama.model.layers[1].register_forward_hook(lambda _m, _a, out: out.detach())
    try:
        with pytest.raises(QxError, match="Integrated gradients need gradients through every layer after SiLU"):
            sal.integrated_gradients(tiny_llama, module, TEXTS[0], [3], steps=2)
    finally:
        blocker.remove()
    ids, mask, last = pad_batch(TEXTS[:2], 0, torch.device("cpu"))  # the batched entry point answers too
    attr, targets = integrated_gradients(tiny_llama, module, ids, mask, last, steps=2)
    assert attr.shape == (2, 6, 48)
    assert float(attr[1, 3:].abs().sum()) == 0.0
    assert targets.shape == (2,)


class _GeneratedIsSpecial:
    """The embedded tokenizer, except that one token id decodes to nothing (a special token)."""

    def __init__(self, tokenizer, special: int):
        self.tokenizer, self.special = tokenizer, special

    def decode(self, ids, skip_special_tokens=False):
        ids = [ids] if isinstance(ids, int) else ids
        return self.tokenizer.decode([i for i in ids if i != self.special], skip_special_tokens=skip_special_tokens)

    def encode(self, text, add_special_tokens=False):
        return self.tokenizer.encode(text, add_special_tokens=add_special_tokens)


def test_analyse_end_to_end_and_an_empty_target_gives_no_salient_neurons(embedded_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(embedded_path).eval()
    tok = AutoTokenizer.from_pretrained(embedded_path)
    texts = [tok.encode(t, add_special_tokens=False) for t in ("Review: great great film\nSentiment:", "")]
    options = NeuronOptions(layers="first,last", ig_steps=4)
    first, empty = analyse(model, tok, texts, options, batch_size=2, pad_id=0)
    assert first.target
    assert first.salient is not None
    assert len(first.salient) == 2
    assert first.corpus.salient_union == [len(s.union()) for s in first.salient]
    assert empty.target == ()
    assert empty.salient is None
    assert math.isnan(empty.counts("sum"))
    assert first.options == {"layers": "first,last", "ig_steps": 4}
    assert '"options": {"layers": "first,last", "ig_steps": 4}' in str(first)

    with torch.no_grad():
        greedy = int(model(torch.tensor([texts[0]])).logits[0, -1].argmax())
    (res,) = analyse(model, _GeneratedIsSpecial(tok, greedy), texts[:1], options, batch_size=1)
    assert res.target == ()
    assert res.salient is None
    assert res.corpus.salient_union == [0, 0]  # no crash
    assert math.isnan(res.counts("best_word"))


def test_options_and_layers():
    assert NeuronOptions().layer_indices(4) == [0, 2, 3]
    assert NeuronOptions(layers="0,-1,last").layer_indices(4) == [0, 3]
    opts = NeuronOptions.from_metadata({"layers": "first", "ig_steps": "8", "token_keys": "string", "version": 1.0})
    assert opts.ig_steps == 8
    assert opts.layers == "first"
    assert opts.token_keys == "string"
    assert opts.changed() == {"layers": "first", "ig_steps": 8, "token_keys": "string"}
    assert NeuronOptions().ig_steps == 50
    assert NeuronOptions().token_keys == "position"
    assert not NeuronOptions().changed()
    with pytest.raises(QxError, match="Unknown neurons option 'ig_step'. Did you mean 'ig_steps'"):
        NeuronOptions.from_metadata({"ig_step": 8})
    with pytest.raises(QxError, match="Unknown neurons token_keys 'strings'. Did you mean 'string'"):
        NeuronOptions.from_metadata({"token_keys": "strings"})
    with pytest.raises(QxError, match="is not a int"):
        NeuronOptions.from_metadata({"ig_steps": "many"})
    with pytest.raises(QxError, match="out of range for a model with 4 layers"):
        NeuronOptions(layers="7").layer_indices(4)
    with pytest.raises(QxError, match="use first, middle, last"):
        NeuronOptions(layers="top").layer_indices(4)


def test_the_salient_phase_counts_documents_one_by_one(tiny_llama, monkeypatch):
    """Integrated gradients are the long part: their bar moves per document, not only at the end."""
    from qxbench import progress
    from qxbench.probes import neurons

    seen = []

    def one_document(*_args):
        seen.append((progress.active().bar.desc, progress.active().bar.n))
        return (), None

    monkeypatch.setattr(neurons, "_salient", one_document)
    results = neurons.analyse(tiny_llama, None, TEXTS, NeuronOptions(layers="1"), batch_size=3)
    assert [n for _, n in seen] == list(range(len(TEXTS)))
    assert len(results) == len(TEXTS)
    assert all("salient" in desc for desc, _ in seen)
    assert progress.active() is None
