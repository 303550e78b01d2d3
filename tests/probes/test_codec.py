"""Probe answers kept for --use_cache are JSON: every result type reads back equal to what was computed, and
stored text of another shape is refused field by field (never executed)."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from qxbench.lmeval import resume
from qxbench.probes import codec
from qxbench.probes.attribution import Attribution, AttributionOptions, attribute
from qxbench.probes.neurons import NeuronOptions, NeuronResult, analyse
from qxbench.probes.results import MemorizeResult, MultiHopResult, NextToken
from qxbench.probes.selfexplain import Counterfactual, Explanation, Inserted
from tests.lmeval.test_resume import Counting, FakeLM, _requests


def same(a, b) -> bool:
    """Equal, and of the same types all the way down (a tuple is no list; NaN equals NaN; tensors bit for bit)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.nan_to_num(-7.0), b.nan_to_num(-7.0))
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


ATTRIBUTION = Attribution(target=17, gold=3, gold_logprob=-2.5, gold_rank=4, attn_imp=[0.1, -0.25],
                          ffn_imp=[1.5, 2.0], top=[(1, 7, 0.75), (0, 3, 0.5)], at_least={0.5: 2, 1e-07: 9},
                          at_tau=2, scored=96)
BUILT = [
    (Counterfactual, Counterfactual(1, 0, "Review: The soup was cold.", "valid", "The soup was cold.", 0, 12.5, None,
                                    10.0, prompts="instruct-1", rewrite_prompt="Rewrite the review ...", pred_again=0)),
    (Counterfactual, Counterfactual(0, 1, "", "empty", "", None, float("nan"), 3.25, float("nan"), 1, None)),
    (Explanation, Explanation(1, "it says great", "valid", False, "awful", 0, "now awful",
                              (Inserted("awful", 2, 0, "now awful"), Inserted("fine", 0, 1, None)),
                              explain_prompt="Explain ...")),
    (MemorizeResult, MemorizeResult("Paris", ATTRIBUTION, 12, 0.5, {"norm": "fixed"}, True)),
    (MemorizeResult, MemorizeResult("Rome", ATTRIBUTION, None, None, {"norm": "fixed"})),
    (MultiHopResult, MultiHopResult([0.1, float("inf"), -3.0], 0.5, {"r1(e1)": "x", "r2(e2)": "y"})),
    (NextToken, NextToken("free", " Paris", 9, 0.75, True, {"mode": "free"})),
    (NextToken, NextToken("choices", "B", None, 0.5, False, {"mode": "choices"}, (0.25, 0.5, 0.25))),
]


def round_trip(tmp_path, kind, values: list) -> list:
    """``values`` answered and kept, then read back by a second run that answers nothing."""
    lm = FakeLM({"model": "a"}, tmp_path / "cache_rank0.db")
    requests = _requests(len(values))
    resume.answer(lm, "qx_x", requests, lambda part: [values[int(r.args[0].split()[1])] for r in part],
                  chunk=2, result=kind)
    again = Counting()
    out = resume.answer(lm, "qx_x", requests, again, chunk=2, result=kind)
    assert again.seen == []
    return out


@pytest.mark.parametrize(("kind", "value"), BUILT, ids=[f"{k.__name__}{i}" for i, (k, _) in enumerate(BUILT)])
def test_every_result_type_reads_back_equal(tmp_path, kind, value):
    (back,) = round_trip(tmp_path, kind, [value])
    assert same(back, value)
    if "nan" not in repr(value):
        assert back == value


def test_computed_attributions_and_neuron_results_read_back_equal(tmp_path, tiny_llama, embedded_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    attrs = attribute(tiny_llama, [[1, 5, 9, 3], [4, 4, 8]], [17, 3], AttributionOptions(), thresholds=[[0.0], [0.1]])
    memorized = [MemorizeResult("x", a, a.at_least.get(0.0), 0.5, AttributionOptions().as_dict(), False)
                 for a in attrs]
    assert all(same(b, a) for a, b in zip(memorized, round_trip(tmp_path / "m", MemorizeResult, memorized),
                                          strict=True))
    model = AutoModelForCausalLM.from_pretrained(embedded_path).eval()
    tok = AutoTokenizer.from_pretrained(embedded_path)
    texts = [tok.encode(t, add_special_tokens=False) for t in ("Review: great great film\nSentiment:", "")]
    found = analyse(model, tok, texts, NeuronOptions(layers="first,last", ig_steps=2), batch_size=2)
    back = round_trip(tmp_path / "n", NeuronResult, found)
    assert all(same(b, a) for a, b in zip(found, back, strict=True))
    assert back[0].corpus.max_abs[0].dtype == torch.float32
    assert back[0].salient is not None


@pytest.mark.parametrize(("text", "message"), [
    ("", "not JSON"),
    ("[1, 2", "not JSON"),
    ('{"mode": "free"}', "answer: expected the fields of NextToken"),
    (json.dumps({**json.loads(codec.encode(BUILT[6][1])), "token": "9"}), "answer.token: expected int"),
    (json.dumps({**json.loads(codec.encode(BUILT[6][1])), "correct": 1}), "answer.correct: expected bool"),
    (json.dumps({**json.loads(codec.encode(BUILT[6][1])), "choice_probs": "abc"}), "answer.choice_probs: expected"),
    (json.dumps({**json.loads(codec.encode(BUILT[6][1])), "__class__": "os.system"}), "expected the fields of"),
])
def test_stored_text_of_another_shape_is_invalid(text, message):
    with pytest.raises(codec.Invalid, match=message.replace("(", r"\(")):
        codec.decode(text, NextToken)


@pytest.mark.parametrize("tensor", [
    {"dtype": "object", "shape": [2], "data": [1.0, 2.0]},
    {"dtype": "float32", "shape": [3], "data": [1.0, 2.0]},
    {"dtype": "float32", "shape": [2], "data": [1.0, "2"]},
    {"dtype": "float32", "shape": [2], "data": [1.0, 2.0], "module": "os"},
])
def test_a_tensor_is_only_a_known_dtype_with_as_many_numbers_as_its_shape(tensor):
    from qxbench.probes.neurons import CorpusStats

    stats = json.loads(codec.encode(CorpusStats([0], [torch.ones(2)], 0.1, 4, [[1] * 10], [0.5])))
    assert codec.decode(json.dumps(stats), CorpusStats).max_abs[0].tolist() == [1.0, 1.0]
    with pytest.raises(codec.Invalid, match=r"answer\.max_abs\[0\]"):
        codec.decode(json.dumps({**stats, "max_abs": [tensor]}), CorpusStats)


def test_a_field_added_with_a_default_reads_from_what_an_older_version_wrote():
    cf = next(v for _, v in BUILT if isinstance(v, Counterfactual))
    older = {k: v for k, v in json.loads(codec.encode(cf)).items() if k != "pred_again"}  # 4.0 had no noise floor
    assert codec.decode(json.dumps(older), Counterfactual) == dataclasses.replace(cf, pred_again=None)
    with pytest.raises(codec.Invalid, match="expected the fields of Counterfactual"):  # a field without one: refused
        codec.decode(json.dumps({k: v for k, v in older.items() if k != "kind"}), Counterfactual)
    with pytest.raises(codec.Invalid, match="expected the fields of Counterfactual"):  # a default is not enough:
        codec.decode(json.dumps({k: v for k, v in older.items() if k != "prompts"}), Counterfactual)  # not added
