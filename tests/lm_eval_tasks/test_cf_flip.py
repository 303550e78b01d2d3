"""cf_flip: metric functions on hand-computed cases, the adapters, and end-to-end runs."""

from __future__ import annotations

import json
import math

import pytest

from lm_eval_tasks.cf_flip.utils import flipped, leaks_label, minimality, process_results, reached_target, words
from qxbench.probes.selfexplain import Counterfactual

from .conftest import evaluate


@pytest.mark.parametrize(
    ("original", "rewrite", "expected"),
    [
        ("The soup was warm.", "The soup was warm.", 0.0),
        ("The soup was warm.", "The soup was cold.", 1 / 5),        # one substitution of 5 tokens
        ("The soup was warm.", "The soup was not warm.", 1 / 6),    # one insertion; longer text has 6
        ("The soup was warm.", "", 1.0),                            # empty rewrite: everything deleted
        ("", "", 0.0),                                              # degenerate: nothing to change
        ("a b", "b a", 1.0),                                        # two substitutions of 2 tokens
    ],
)
def test_minimality(original, rewrite, expected):
    assert minimality(original, rewrite) == pytest.approx(expected)


def test_words_splits_punctuation():
    assert words("Warm, tasty soup!") == ["Warm", ",", "tasty", "soup", "!"]


def test_flip_and_target_rules():
    assert flipped(1, 0) == 1.0 and flipped(1, 1) == 0.0
    assert flipped(1, None) == 0.0                     # empty rewrite: no flip
    assert reached_target(2, 2) == 1.0 and reached_target(2, 0) == 0.0 and reached_target(2, None) == 0.0


def test_process_results_of_one_document():
    doc = {"text": "The soup was warm.", "label": 1, "choices": ["negative", "positive"]}
    cf = Counterfactual(pred=1, target=0, rewrite="The soup was cold.", rewrite_pred=0, ppl=12.5, ref_ppl=None)
    out = process_results(doc, [cf])
    cosine = out.pop("cosine")
    # no reference model: no ppl_ref, no flip_rate_ref
    assert out == {"acc": 1.0, "flip_rate": 1.0, "target_rate": 1.0, "minimality": 0.2, "ppl": 12.5,
                   "empty_rate": 0.0, "unchanged_rate": 0.0, "label_leak_rate": 0.0}
    assert 0.5 < cosine < 1  # one word of four changed
    empty = Counterfactual(pred=0, target=1, rewrite="", rewrite_pred=None, ppl=math.nan, ref_ppl=math.nan,
                           ref_pred=0, ref_rewrite_pred=None)
    out = process_results(doc, [empty])
    assert out["flip_rate"] == 0.0 and out["minimality"] == 1.0 and out["empty_rate"] == 1.0
    assert out["cosine"] == 0.0 and out["flip_rate_ref"] == 0.0
    assert math.isnan(out["ppl"]) and math.isnan(out["ppl_ref"])


def test_flip_rate_ref_is_the_references_judgement():
    doc = {"text": "The soup was warm.", "label": 1, "choices": ["negative", "positive"]}
    cf = Counterfactual(pred=1, target=0, rewrite="The soup was cold.", rewrite_pred=1, ppl=1.0, ref_ppl=1.0,
                        ref_pred=1, ref_rewrite_pred=0)
    out = process_results(doc, [cf])
    assert out["flip_rate"] == 0.0 and out["flip_rate_ref"] == 1.0


@pytest.mark.parametrize(
    ("original", "rewrite", "leaks"),
    [  # rewrites SmolLM2-135M-Instruct wrote for SST-2 and AG News (benchmarks/results/runs)
        ("unflinchingly bleak and desperate",
         'The movie review is "unflinchingly bleak and desperate" with a positive sentiment.', True),
        ("Fears for T N pension after talks", 'The topic of the news article is "sports" instead of "business".', True),
        ("Dutch Retailer Beats Apple to Local Market", "Dutch Retailer Beats Apple to Local Market: Sports", True),
        ("Ky. Company Wins Grant", "Science: Science", True),
        ("The soup was warm.", "Sentiment: POSITIVE", True),  # any case
        ("Dell leaves the world's low-end market", "Dell leaves the world's high-end market", False),  # named before
        ("Johnson helped Arizona end a losing streak", "Businessman Johnson helped Arizona end a losing streak",
         False),  # a whole word only
        ("The soup was warm.", "The soup was cold.", False),
        ("The soup was warm.", "", False),
        ("Masks reduce infections", "There is not enough information that masks reduce infections", True),  # a phrase
    ],
)
def test_a_rewrite_that_names_a_label_leaks_it(original, rewrite, leaks):
    choices = ["negative", "positive", "world", "sports", "business", "science", "not enough information"]
    assert leaks_label(original, rewrite, choices) is leaks


def test_a_label_leak_flips_nothing_by_either_judge():
    doc = {"text": "Fears for pension after talks", "label": 2, "choices": ["world", "sports", "business", "science"]}
    cf = Counterfactual(pred=2, target=1, rewrite="Fears for pension after talks: Sports", rewrite_pred=1, ppl=9.0,
                        ref_ppl=9.0, ref_pred=2, ref_rewrite_pred=1)
    out = process_results(doc, [cf])
    assert out["label_leak_rate"] == 1.0
    assert out["flip_rate"] == out["target_rate"] == out["flip_rate_ref"] == 0.0
    assert out["minimality"] > 0 and out["ppl"] == 9.0  # the text is still measured
    honest = process_results(doc, [Counterfactual(pred=2, target=1, rewrite="Fears for players after the match",
                                                  rewrite_pred=1, ppl=9.0, ref_ppl=9.0, ref_pred=2,
                                                  ref_rewrite_pred=1)])
    assert honest["label_leak_rate"] == 0.0 and honest["flip_rate"] == honest["flip_rate_ref"] == 1.0


def test_minimality_is_measured_on_the_edited_part_only():
    from qxbench.probes.classify import esnli

    doc = esnli({"premise": "A man plays a guitar on stage.", "hypothesis": "A man sleeps.", "label": 2,
                 "explanation_1": "x"})
    cf = Counterfactual(pred=2, target=0, rewrite="A man sleeps.", rewrite_pred=2, ppl=1.0, ref_ppl=None)
    out = process_results(doc, [cf])
    assert out["minimality"] == 0.0 and out["unchanged_rate"] == 1.0 and out["flip_rate"] == 0.0


def test_end_to_end_on_the_embedded_world(qx_lm):
    out = evaluate(qx_lm, ["cf_flip"], limit=8, log_samples=True)
    res = out["results"]["cf_flip"]
    assert res["acc,none"] == 1.0 and res["flip_rate,none"] > 0.5
    # perplexity per token of the rewrite alone; qx-tiny's tokens are whole words (978), and a
    # random-init model of its shape scores about 760 (lm_eval_tasks/cf_flip/README.md)
    assert 0 < res["minimality,none"] < 0.5 and 1 < res["ppl,none"] < 700
    assert res["ppl_ref,none"] == res["ppl,none"]  # quant=none: the model is its own reference
    sample = out["samples"]["cf_flip"][0]
    assert set(sample["metrics"]) >= {"flip_rate", "minimality", "ppl"} and "rewrite=" in str(sample["resps"])


def test_sst2_variant_reads_the_hub_schema_from_a_local_stand_in(qx_lm, tmp_path):
    rows = [{"idx": 0, "sentence": "The soup was warm.", "label": 1},
            {"idx": 1, "sentence": "The bath was dirty.", "label": 0}]
    data = tmp_path / "sst2.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # qx-tiny was trained on the completion format: the old templates, kept as the prompt set completion-0
    out = evaluate(qx_lm, ["cf_flip_sst2"], metadata={"data_path": str(data), "prompts": "completion-0"})
    res = out["results"]["cf_flip_sst2"]
    assert res["acc,none"] == 1.0 and 0 <= res["flip_rate,none"] <= 1
    assert out["configs"]["cf_flip_sst2"]["metadata"]["prompts"] == "completion-0"  # recorded with the results


def test_the_chat_template_option_reaches_the_model(qx_lm, tmp_path):
    from qxbench.errors import QxError

    data = tmp_path / "sst2.jsonl"
    data.write_text(json.dumps({"sentence": "The soup was warm.", "label": 1}) + "\n")
    with pytest.raises(QxError, match="no chat template"):  # qx-tiny has none: the option was honoured
        evaluate(qx_lm, ["cf_flip_sst2"], metadata={"data_path": str(data), "apply_chat_template": True})
    with pytest.raises(QxError, match="apply_chat_template must be true or false"):
        evaluate(qx_lm, ["cf_flip_sst2"], metadata={"data_path": str(data), "apply_chat_template": "yes"})
