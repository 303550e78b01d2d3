"""Attribution formulas against a by-hand computation (one prompt, one layer, one neuron at a time),
and the bounded search against scoring every neuron."""

from __future__ import annotations

import math

import pytest
import torch

from qxbench.errors import QxError
from qxbench.probes import attribution
from qxbench.probes.attribution import (
    AttributionOptions,
    attribute,
    rank_top,
    top_k_overlap,
)
from tests.reference_pass import lens_logprob, manual_llama

from .conftest import assert_same_top

PROMPTS = [[1, 5, 9, 3, 7, 2], [4, 4, 8], [11, 2, 30, 31, 6, 6, 6, 1, 9]]
GOLD = [17, 3, 40]


def reference_logprob(model, v: torch.Tensor, final: torch.Tensor, token: int) -> float:
    """Llama_view_knowledge.ipynb's get_bsvalues: v * rsqrt(mean(h_L^2) + 1e-6) * norm.weight -> lm_head."""
    scaled = v * torch.rsqrt(final.pow(2).mean(-1, keepdim=True) + 1e-6) * model.model.norm.weight
    return float(torch.log_softmax(model.lm_head(scaled), -1)[token].detach())


@pytest.mark.parametrize("target", ["top", "gold"])
def test_reference_scores_match_the_notebook_formula_neuron_by_neuron(tiny_llama, target):
    got = attribute(tiny_llama, PROMPTS, GOLD, AttributionOptions(target=target))  # batched, padded
    for ids, gold, attr in zip(PROMPTS, GOLD, got, strict=True):
        ref = manual_llama(tiny_llama, ids)
        logprobs = torch.log_softmax(ref["logits"], -1)
        t = int(logprobs.argmax()) if target == "top" else gold
        assert attr.target == t
        assert attr.gold == gold
        assert attr.gold_logprob == pytest.approx(float(logprobs[gold]), abs=1e-5)
        assert attr.gold_rank == 1 + sum(float(x) > float(logprobs[gold]) for x in logprobs)
        final = ref["resid_out"][-1]

        def lp(v, final=final, t=t):
            return reference_logprob(tiny_llama, v, final, t)

        scores = {}
        for layer, block in enumerate(tiny_llama.model.layers):
            h, attn = ref["resid_in"][layer], ref["attn"][layer]
            mid = h + attn
            mlp = ref["resid_out"][layer] - mid
            assert attr.attn_imp[layer] == pytest.approx(lp(h + attn) - lp(h), abs=1e-5)
            assert attr.ffn_imp[layer] == pytest.approx(lp(mid + mlp) - lp(mid), abs=1e-5)
            w = block.mlp.down_proj.weight
            for neuron in range(w.shape[1]):
                scores[layer, neuron] = lp(mid + ref["act"][layer][neuron] * w[:, neuron]) - lp(mid)
        assert len(attr.top) == len(scores) == 144  # fewer neurons than 300: all of them, ranked
        for layer, neuron, score in attr.top:
            assert score == pytest.approx(scores[layer, neuron], abs=1e-5)
        assert [s for _, _, s in attr.top] == sorted((s for _, _, s in attr.top), reverse=True)


def test_per_vector_option_reads_each_vector_through_the_final_norm(tiny_llama):
    (attr,) = attribute(tiny_llama, PROMPTS[:1], GOLD[:1], AttributionOptions(norm="per_vector", target="gold"))
    ref = manual_llama(tiny_llama, PROMPTS[0])
    h, attn = ref["resid_in"][1], ref["attn"][1]
    expected = lens_logprob(tiny_llama, h + attn, GOLD[0]) - lens_logprob(tiny_llama, h, GOLD[0])
    assert attr.attn_imp[1] == pytest.approx(expected, abs=1e-5)
    fixed = attribute(tiny_llama, PROMPTS[:1], GOLD[:1], AttributionOptions(target="gold"))[0]
    assert abs(fixed.attn_imp[1] - attr.attn_imp[1]) > 1e-3  # the two normalisations really differ


@pytest.fixture(scope="module")
def qx_tiny(embedded_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(embedded_path).eval(), AutoTokenizer.from_pretrained(embedded_path)


@pytest.mark.slow
def test_bounded_search_equals_scoring_every_neuron(qx_tiny, monkeypatch):
    from qxbench.probes import attribution
    from qxbench.world.data import read_rows

    monkeypatch.setattr(attribution, "CHUNK", 32)  # stop as early as the bound allows

    model, tok = qx_tiny
    facts = read_rows("facts")[::10]
    prompts = [tok(f["prompt"])["input_ids"] for f in facts]
    gold = [tok(" " + f["object"], add_special_tokens=False)["input_ids"][0] for f in facts]
    first = attribute(model, prompts, gold, AttributionOptions(method="dense"))
    taus = [[d.top[-1][2] - 0.0005] for d in first]  # a threshold below tau, as a reference model's can be
    dense = attribute(model, prompts, gold, AttributionOptions(method="dense"), thresholds=taus)
    bounded = attribute(model, prompts, gold, AttributionOptions(method="bounded"), thresholds=taus)
    # it really skips neurons (least where the model is sure of its answer: every exact score is then
    # near 0 and near the 300th, so fewer bounds fall below it)
    assert sum(b.scored for b in bounded) < 0.8 * sum(d.scored for d in dense)
    for d, b in zip(dense, bounded, strict=True):
        assert d.scored == 3072
        assert_same_top(b.top, d.top, tol=1e-5)
        assert b.at_tau == d.at_tau >= 300
        assert b.at_least == d.at_least
        assert min(d.at_least.values()) > 300  # counts below tau are exact too


def test_jensen_bound_is_above_every_exact_score(qx_tiny):
    from qxbench.interp.internals import read_last_token
    from qxbench.probes.attribution import Lens, _bounds, _exact, dense_weight, down_weights

    model, tok = qx_tiny
    weights = down_weights(model)
    reads = read_last_token(model, [tok("The capital of Loumfusland is")["input_ids"]])
    lens = Lens(model, "fixed", reads.resid_out[0, -1])
    mid, token = reads.resid_mid[0], int(reads.logits[0].argmax())
    bound = _bounds(lens, lens.logits(mid), reads.act[0], weights, token, dense_weight(model.lm_head))
    base = lens.logprob(mid, token)
    for layer, w in enumerate(weights):
        (exact,) = _exact(lens, mid, reads.act[0], weights, [(layer, torch.arange(w.shape[1]))], token, base)
        # float32 log-sum-exps of logits ~20 round at ~1e-5 (1.4e-5 measured, BLAS-dependent); the search's
        # MARGIN (1e-4) is what the bound has to hold to
        assert (bound[layer] >= exact - attribution.MARGIN / 2).all()
        top = exact.argsort(descending=True)[:20]
        assert (bound[layer, top] - exact[top]).max() < exact[top].max()  # and not loose where it matters


def test_ranking_ties_and_overlap_on_hand_made_cases():
    items = [(0, 1, 0.5), (2, 0, 0.5), (1, 3, 2.0), (1, 2, 0.5)]
    # the notebook's stable ascending sort, reversed: equal scores, larger (layer, neuron) first
    assert rank_top(items, 3) == [(1, 3, 2.0), (2, 0, 0.5), (1, 2, 0.5)]
    assert top_k_overlap([(0, 1, 1.0), (2, 2, 0.9)], [(0, 1, 0.3), (5, 5, 0.2)]) == 0.5
    assert math.isnan(top_k_overlap([(0, 1, 1.0)], []))


def test_options_name_the_bad_value_and_the_choices():
    assert AttributionOptions.from_metadata({"lre_path": "x", "norm": "fixed"}).bounded  # foreign keys skipped
    with pytest.raises(QxError, match="Unknown memorize norm 'rms'.*Available: fixed, per_vector"):
        AttributionOptions.from_metadata({"norm": "rms"})
    with pytest.raises(QxError, match="Did you mean 'target'"):
        AttributionOptions.from_metadata({"targett": "gold"})
    with pytest.raises(QxError, match="method=bounded needs norm=fixed"):
        AttributionOptions.from_metadata({"norm": "per_vector", "method": "bounded"})
    assert not AttributionOptions.from_metadata({"norm": "per_vector"}).bounded


def test_fixed_norm_refuses_a_layernorm_model(tiny_gpt2):
    with pytest.raises(QxError, match="use norm=per_vector"):
        attribute(tiny_gpt2, [[1, 2, 3]], [4])
    (attr,) = attribute(tiny_gpt2, [[1, 2, 3]], [4], AttributionOptions(norm="per_vector"))
    assert len(attr.attn_imp) == 2


def _gemma_lp(model, v: torch.Tensor, final: torch.Tensor, token: int) -> float:
    """bs on Gemma: the reference's fixed scale, the final norm's (1 + w), the soft-cap where there is one."""
    scaled = v * torch.rsqrt(final.pow(2).mean(-1, keepdim=True) + 1e-6) * (1 + model.model.norm.weight)
    z = model.lm_head(scaled)
    cap = model.config.final_logit_softcapping
    z = z if cap is None else torch.tanh(z / cap) * cap
    return float(torch.log_softmax(z, -1)[token].detach())


@pytest.mark.parametrize("name", ["tiny_gemma", "tiny_gemma2"])
def test_gemma_neurons_are_scored_through_the_norm_after_the_ffn_and_add_up_to_it(name, request):
    """Neuron k adds a_k s_l (1 + w_post) W_down[:, k], s_l = rsqrt(mean(m_l^2) + eps) of the actual down
    projection output m_l: the contributions sum to what the FFN adds, and each is scored by the formula."""
    from tests.reference_pass import manual_gemma

    model = request.getfixturevalue(name)
    method = "bounded" if model.config.final_logit_softcapping is None else "dense"
    got = attribute(model, PROMPTS[:2], GOLD[:2], AttributionOptions(method=method))
    for ids, attr in zip(PROMPTS[:2], got, strict=True):
        ref = manual_gemma(model, ids)
        t = int(ref["logits"].argmax())
        assert attr.target == t
        scores = {}
        for layer, block in enumerate(model.model.layers):
            mid = ref["resid_in"][layer] + ref["attn"][layer]
            m = ref["mlp"][layer]
            s = torch.rsqrt(m.pow(2).mean() + block.post_feedforward_layernorm.eps)
            parts = ref["act"][layer][:, None] * s * ((1 + block.post_feedforward_layernorm.weight)[None]
                                                      * block.mlp.down_proj.weight.T)  # [neurons, hidden]
            assert torch.allclose(parts.sum(0), ref["resid_out"][layer] - mid, atol=1e-5)  # additive, exact
            final = ref["resid_out"][-1]
            assert attr.ffn_imp[layer] == pytest.approx(
                _gemma_lp(model, ref["resid_out"][layer], final, t) - _gemma_lp(model, mid, final, t), abs=1e-5)
            for k in range(parts.shape[0]):
                scores[layer, k] = _gemma_lp(model, mid + parts[k], final, t) - _gemma_lp(model, mid, final, t)
        assert len(attr.top) == 144
        for layer, neuron, score in attr.top:
            assert score == pytest.approx(scores[layer, neuron], abs=1e-5)


def test_gemma_jensen_bound_holds_on_the_effective_activations(tiny_gemma):
    from qxbench.interp.internals import read_last_token
    from qxbench.probes.attribution import Lens, _bounds, _exact, dense_weight, down_weights, ffn_scales

    model = tiny_gemma
    weights = down_weights(model)
    reads = read_last_token(model, PROMPTS[2:])
    lens = Lens(model, "fixed", reads.resid_out[0, -1])
    acts = reads.act[0] * ffn_scales(model, reads.mlp[0])[:, None]
    mid, token = reads.resid_mid[0], int(reads.logits[0].argmax())
    bound = _bounds(lens, lens.logits(mid), acts, weights, token, dense_weight(model.lm_head))
    base = lens.logprob(mid, token)
    for layer, w in enumerate(weights):
        (exact,) = _exact(lens, mid, acts, weights, [(layer, torch.arange(w.shape[1]))], token, base)
        assert (bound[layer] >= exact - attribution.MARGIN / 2).all()


def test_bounded_search_refuses_a_soft_capped_model(tiny_gemma2):
    with pytest.raises(QxError, match=r"method=bounded needs logits linear in each neuron, and Gemma2ForCausalLM "
                                      r"soft-caps its logits \(final_logit_softcapping=2.0\): use method=dense"):
        attribute(tiny_gemma2, PROMPTS[:1], GOLD[:1])
