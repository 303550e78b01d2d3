"""cf_flip: metric functions on hand-computed cases, the adapters, and end-to-end runs."""

from __future__ import annotations

import json
import math

import pytest

from lm_eval_tasks.cf_flip.utils import flipped, minimality, ppl_ratio, process_results, reached_target, words
from qxbench.metrics.shared import majority_share
from qxbench.probes.answers import REWRITE_KINDS
from qxbench.probes.selfexplain import Counterfactual

from .conftest import TASKS, check_display, evaluate, metric_list


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
    assert flipped(1, 0) == 1.0
    assert flipped(1, 1) == 0.0
    assert flipped(1, None) == 0.0                     # empty rewrite: no flip
    assert reached_target(2, 2) == 1.0
    assert reached_target(2, 0) == 0.0
    assert reached_target(2, None) == 0.0


def cf(rewrite="The soup was cold.", kind="valid", pred=1, target=0, rewrite_pred=0, ppl=12.5, ref_ppl=None,
       input_ppl=10.0, ref_pred=None, ref_rewrite_pred=None):
    return Counterfactual(pred=pred, target=target, answer=rewrite, kind=kind, rewrite=rewrite,
                          rewrite_pred=rewrite_pred, ppl=ppl, ref_ppl=ref_ppl, input_ppl=input_ppl, ref_pred=ref_pred,
                          ref_rewrite_pred=ref_rewrite_pred)


DOC = {"text": "The soup was warm.", "context": "", "label": 1, "choices": ["negative", "positive"]}
CLOSENESS = ("minimality", "cosine", "ppl", "ppl_ratio")


def test_process_results_of_one_valid_flip():
    out = process_results(DOC, [cf()])
    cosine = out.pop("cosine")
    assert math.isnan(out.pop("noise"))  # no second batch composition: not measured
    kinds = {k: out.pop(k) for k in list(out) if k.startswith("rewrite_")}
    # no reference model: no ppl_ref, flip_rate_ref or agree_fp
    assert out == {"acc": 1.0, "flip_rate": 1.0, "target_rate": 1.0, "minimality": 0.2, "ppl": 12.5,
                   "ppl_ratio": 1.25, "n_valid_flips": 1.0, "pred_majority": (1, "positive"),
                   "chance": (1, "positive")}
    assert 0.5 < cosine < 1  # one word of four changed
    assert kinds == {f"rewrite_{k}": float(k == "valid") for k in REWRITE_KINDS if k != "context_copy"}


@pytest.mark.parametrize("kind", [k for k in REWRITE_KINDS if k != "valid"])
def test_only_a_valid_rewrite_flips_by_either_judge(kind):
    """A rewrite of any other kind counts as no flip, even where a classifier read it as the other label."""
    answer = cf(kind=kind, rewrite="Sentiment: negative", ref_pred=1, ref_rewrite_pred=0)
    out = process_results({**DOC, "context": "The tea was hot."}, [answer])  # a fixed part: every kind can occur
    assert out["flip_rate"] == out["target_rate"] == out["flip_rate_ref"] == out["n_valid_flips"] == 0.0
    assert out[f"rewrite_{kind}"] == 1.0
    assert out["rewrite_valid"] == 0.0


def test_closeness_is_measured_on_valid_flips_only():
    for answer in (cf(kind="leak", rewrite="negative"), cf(rewrite_pred=1), cf(kind="empty", rewrite="",
                                                                             rewrite_pred=None)):
        out = process_results(DOC, [answer])
        assert all(math.isnan(out[m]) for m in CLOSENESS), answer  # NaN: left out of the mean (nanmean)
        assert out["n_valid_flips"] == 0.0
    with_ref = process_results(DOC, [cf(rewrite_pred=1, ref_ppl=20.0, ref_pred=1, ref_rewrite_pred=0)])
    assert math.isnan(with_ref["ppl_ref"])
    assert with_ref["flip_rate_ref"] == 1.0  # flipped for the judge only
    flip = process_results(DOC, [cf(ref_ppl=20.0, ref_pred=1, ref_rewrite_pred=0)])
    assert flip["ppl_ref"] == 20.0
    assert flip["minimality"] == 0.2
    assert flip["n_valid_flips"] == 1.0


def test_ppl_ratio_divides_by_the_inputs_perplexity_under_the_same_judge():
    assert ppl_ratio(cf(ppl=12.5, input_ppl=10.0)) == 1.25  # no reference: the model judges both
    assert ppl_ratio(cf(ppl=12.5, ref_ppl=30.0, input_ppl=10.0)) == 3.0  # the reference's, not the model's
    assert math.isnan(ppl_ratio(cf(ppl=math.nan, input_ppl=math.nan)))


def test_agree_fp_is_the_models_label_against_the_references():
    assert process_results(DOC, [cf(ref_pred=1, ref_rewrite_pred=0)])["agree_fp"] == 1.0
    assert process_results(DOC, [cf(pred=1, ref_pred=0, ref_rewrite_pred=1)])["agree_fp"] == 0.0
    assert "agree_fp" not in process_results(DOC, [cf()])  # reference=none: nothing to agree with


def test_pred_majority_and_chance_hand_their_aggregation_the_labels():
    outs = [process_results({**DOC, "label": gold}, [cf(pred=pred, target=1 - pred, rewrite_pred=1 - pred)])
            for pred, gold in ((1, 1), (1, 0), (1, 0), (0, 0))]
    assert majority_share([o["pred_majority"] for o in outs]) == 0.75  # three of four predicted "positive"
    assert majority_share([o["chance"] for o in outs]) == 0.75  # three of four are "negative"


def test_context_copy_is_reported_only_where_the_input_has_a_fixed_part():
    from qxbench.data.classify import esnli

    doc = esnli({"premise": "A man plays a guitar on stage.", "hypothesis": "A man sleeps.", "label": 2,
                 "explanation_1": "x"})
    answer = cf(kind="context_copy", rewrite="A man plays a guitar on stage.", pred=2, target=0, rewrite_pred=None)
    assert process_results(doc, [answer])["rewrite_context_copy"] == 1.0
    assert "rewrite_context_copy" not in process_results(DOC, [cf()])


def test_minimality_is_measured_on_the_edited_part_only():
    from qxbench.data.classify import esnli

    doc = esnli({"premise": "A man plays a guitar on stage.", "hypothesis": "A man sleeps.", "label": 2,
                 "explanation_1": "x"})
    out = process_results(doc, [cf(rewrite="A man sleeps soundly.", pred=2, target=0, rewrite_pred=0)])
    assert out["minimality"] == 0.2  # one insertion, five tokens in the longer text; the premise is not compared


def test_the_metric_list_aggregates_closeness_over_defined_values_and_is_on_the_leaderboard():
    metrics = metric_list(TASKS / "cf_flip" / "_cf_flip.yaml")
    for name in (*CLOSENESS, "ppl_ref"):
        assert metrics[name]["aggregation"] == "utils.nanmean", name  # NaN off the valid flips: skipped
    assert metrics["n_valid_flips"]["aggregation"] == "utils.total"
    assert metrics["pred_majority"]["aggregation"] == metrics["chance"]["aggregation"] == "utils.majority_share"
    assert {f"rewrite_{k}" for k in REWRITE_KINDS} <= set(metrics)
    assert "agree_fp" in metrics
    check_display("cf_flip", metrics)


@pytest.mark.slow
def test_end_to_end_on_the_embedded_world(qx_lm):
    out = evaluate(qx_lm, ["cf_flip"], limit=8, log_samples=True)
    res = out["results"]["cf_flip"]
    assert res["acc,none"] == 1.0
    assert res["flip_rate,none"] > 0.5
    # perplexity per token of the rewrite alone; qx-tiny's tokens are whole words (978), and a
    # random-init model of its shape scores about 760 (lm_eval_tasks/cf_flip/README.md)
    assert 0 < res["minimality,none"] < 0.5
    assert 1 < res["ppl,none"] < 700
    assert res["ppl_ref,none"] == res["ppl,none"]  # quant=none: the model is its own reference
    assert res["agree_fp,none"] == 1.0  # full precision agrees with itself by construction
    assert res["noise,none"] == 0.0  # float32 qx-tiny: its labels do not depend on the batch
    samples = out["samples"]["cf_flip"]
    assert res["n_valid_flips,none"] == sum(s["flip_rate"] for s in samples) == res["flip_rate,none"] * 8
    flips = [s["minimality"] for s in samples if s["n_valid_flips"]]
    assert res["minimality,none"] == pytest.approx(sum(flips) / len(flips))  # over the valid flips only
    assert 0 < res["ppl_ratio,none"] < 10
    assert 0.5 <= res["pred_majority,none"] <= 1
    assert 0.5 <= res["chance,none"] <= 1
    assert sum(res[f"rewrite_{k},none"] for k in REWRITE_KINDS if k != "context_copy") == pytest.approx(1.0)
    logged = str(samples[0]["resps"])
    assert all(f"{field}=" in logged for field in ("answer", "kind", "rewrite", "rewrite_prompt"))
    assert "Rewrite as " in logged  # the rewrite prompt sent (completion-0 on the embedded world)


@pytest.mark.slow
def test_sst2_variant_reads_the_hub_schema_from_a_local_stand_in(qx_lm, tmp_path):
    rows = [{"idx": 0, "sentence": "The soup was warm.", "label": 1},
            {"idx": 1, "sentence": "The bath was dirty.", "label": 0}]
    data = tmp_path / "sst2.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # qx-tiny was trained on the completion format: the old templates, kept as the prompt set completion-0
    out = evaluate(qx_lm, ["cf_flip_sst2"], metadata={"data_path": str(data), "prompts": "completion-0"})
    res = out["results"]["cf_flip_sst2"]
    assert res["acc,none"] == 1.0
    assert 0 <= res["flip_rate,none"] <= 1
    assert out["configs"]["cf_flip_sst2"]["metadata"]["prompts"] == "completion-0"  # recorded with the results


def test_the_chat_template_option_reaches_the_model(qx_lm, tmp_path):
    from qxbench.errors import QxError

    data = tmp_path / "sst2.jsonl"
    data.write_text(json.dumps({"sentence": "The soup was warm.", "label": 1}) + "\n")
    with pytest.raises(QxError, match="no chat template"):  # qx-tiny has none: the option was honoured
        evaluate(qx_lm, ["cf_flip_sst2"], metadata={"data_path": str(data), "apply_chat_template": True})
    with pytest.raises(QxError, match="apply_chat_template must be true or false"):
        evaluate(qx_lm, ["cf_flip_sst2"], metadata={"data_path": str(data), "apply_chat_template": "yes"})


def test_a_request_carries_its_task_version_so_no_other_version_s_answer_is_resumed():
    """The resume store keys an answer by the request's arguments (qxbench.lmeval.resume.key): the task
    version is one of them, so a 4.0 answer kept by --use_cache is never read by a 4.1 or 4.2 run."""
    from lm_eval.tasks import TaskManager, get_task_dict

    from .conftest import TASKS

    task = get_task_dict(["cf_flip"], TaskManager(include_path=[str(TASKS)], include_defaults=False))["cf_flip"]
    doc = task.test_docs()[0]
    assert task.probe_arguments(doc, "")[2]["version"] == str(task.config.metadata["version"]) == "4.6"
