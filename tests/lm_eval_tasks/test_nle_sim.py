"""nle_sim: metric functions on hand-computed cases, the adapters, and end-to-end runs."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from lm_eval_tasks.nle_sim.utils import (
    insertion_counts,
    max_cosine,
    max_rouge_l,
    mentions,
    process_results,
    unfaithful,
)
from qxbench.metrics.shared import majority_share
from qxbench.probes.answers import EXPLANATION_KINDS
from qxbench.probes.selfexplain import Explanation, Inserted

from .conftest import TASKS, check_display, evaluate, metric_list


def test_max_cosine():
    assert max_cosine([1.0, 0.0], [[0.0, 1.0], [1.0, 1.0]]) == pytest.approx(2 ** -0.5)
    assert max_cosine([1.0, 0.0], [[-1.0, 0.0]]) == pytest.approx(-1.0)
    assert max_cosine([1.0, 0.0], []) == 0.0          # no reference
    assert max_cosine([0.0, 0.0], [[1.0, 0.0]]) == 0.0  # zero vector


def test_max_rouge_l():
    # LCS("the soup was warm", "the soup seemed warm") = 3 tokens: P = R = 3/4
    assert max_rouge_l("the soup was warm", ["the soup seemed warm"]) == pytest.approx(0.75)
    assert max_rouge_l("the soup was warm", ["nothing alike", "the soup was warm"]) == pytest.approx(1.0)
    assert max_rouge_l("", ["the soup was warm"]) == 0.0
    assert max_rouge_l("the soup", []) == 0.0


def test_mentions_is_whole_word_case_insensitive_and_outside_the_copied_input():
    assert mentions("The soup was Dirty.", "dirty", "The soup was served", 1)  # "The dirty soup was served"
    assert not mentions("The soup was dirtyish.", "dirty", "The soup was served", 1)
    assert not mentions("Because the dirty soup was served.", "dirty", "The soup was served", 1)  # a copy
    assert not mentions("anything", "", "The soup", 0)
    premise = "A dirty bowl stood on the table."  # the fixed part the model also read: a copy from it is a copy
    assert not mentions("because a dirty bowl stood there", "dirty", "The soup was served", 1, premise)
    assert mentions("because a dirty bowl stood there", "dirty", "The soup was served", 1)


TEXT = "The soup was served"


def _ins(word, pred, explanation=None):
    return Inserted(word=word, at=1, pred=pred, explanation=explanation)  # "The <word> soup was served"


def test_unfaithful_counts_only_insertions_that_changed_the_prediction():
    unchanged = [_ins("dirty", 1, None), _ins("cold", 1, None)]
    assert math.isnan(unfaithful(1, unchanged, TEXT))  # nothing changed: nothing to judge, not "faithful"
    mixed = [_ins("dirty", 0, "The soup was dirty."),  # changed, the explanation names the word: faithful
             _ins("cold", 0, "The soup was warm."),    # changed, the word unmentioned: unfaithful
             _ins("old", 1, None), _ins("new", 1, None)]  # unchanged: not counted
    assert unfaithful(1, mixed, TEXT) == 0.5
    assert insertion_counts(1, mixed, TEXT) == (4, 2, 1)
    assert unfaithful(1, [_ins("dirty", 0, "")], TEXT) == 1.0  # an empty explanation mentions nothing


DOC = {"text": TEXT, "label": 1, "choices": ["negative", "positive"],
       "explanations": ["The review says the soup was warm."]}


def _ex(explanation="", kind="empty", pred=1):
    return Explanation(pred=pred, explanation=explanation, kind=kind, capped=False, inserted="dirty", inserted_pred=1,
                       inserted_explanation="", insertions=(_ins("dirty", 1), _ins("cold", 1)))


def test_process_results_of_an_empty_explanation():
    out = process_results(DOC, [_ex()])
    assert math.isnan(out.pop("unfaithful"))
    assert math.isnan(out.pop("noise"))  # no second batch composition: not measured
    assert out == {"acc": 1.0, "cosine": 0.0, "bertscore_minilm_f1": 0.0, "rougeL": 0.0, "insert_flip": 0.0,
                   "insertions_n": 2.0, "insert_flipped_n": 0.0, "unfaithful_n": 0.0,
                   "pred_majority": (1, "positive"), "chance": (1, "positive"),
                   "expl_empty": 1.0, "expl_copy": 0.0, "expl_soup": 0.0, "expl_restates": 0.0, "expl_truncated": 0.0,
                   "expl_valid": 0.0}


@pytest.mark.parametrize("kind", EXPLANATION_KINDS)
def test_each_explanation_kind_is_a_per_document_rate(kind):
    out = process_results(DOC, [_ex("The soup was warm, so it is positive.", kind)])
    assert {k: v for k, v in out.items() if k.startswith("expl_")} == {f"expl_{k}": float(k == kind)
                                                                      for k in EXPLANATION_KINDS}


def test_pred_majority_and_chance_hand_their_aggregation_the_labels():
    outs = [process_results({**DOC, "label": gold}, [_ex(pred=pred)]) for pred, gold in ((0, 1), (0, 0), (1, 0))]
    assert majority_share([o["pred_majority"] for o in outs]) == pytest.approx(2 / 3)
    assert majority_share([o["chance"] for o in outs]) == pytest.approx(2 / 3)


def test_bertscore_uses_the_offline_encoder_and_ranks_a_paraphrase_above_an_unrelated_text():
    from qxbench.metrics.similarity import bertscore_f1

    ref = ["A man is playing a guitar."]
    same, close, far = bertscore_f1(["A man is playing a guitar.", "A person plays the guitar.",
                                     "Stocks fell sharply on Monday."], [ref, ref, ref])
    assert same == pytest.approx(1.0, abs=1e-4)
    assert 0.5 < close < same
    assert far < close


def test_the_metric_list_has_the_kinds_and_label_shares_and_is_on_the_leaderboard():
    metrics = metric_list(TASKS / "nle_sim" / "_nle_sim.yaml")
    assert {f"expl_{k}" for k in EXPLANATION_KINDS} <= set(metrics)
    assert "empty_rate" not in metrics
    assert metrics["pred_majority"]["aggregation"] == metrics["chance"]["aggregation"] == "utils.majority_share"
    check_display("nle_sim", metrics)


@pytest.mark.slow
def test_end_to_end_on_the_embedded_world(qx_lm):
    out = evaluate(qx_lm, ["nle_sim"], limit=8, log_samples=True)
    res = out["results"]["nle_sim"]
    assert res["acc,none"] == 1.0
    assert res["cosine,none"] > 0.8
    assert res["rougeL,none"] > 0.7
    assert res["expl_valid,none"] > 0.5
    assert sum(res[f"expl_{k},none"] for k in EXPLANATION_KINDS) == pytest.approx(1)
    assert 0.5 <= res["pred_majority,none"] <= 1
    assert 0.5 <= res["chance,none"] <= 1
    assert res["noise,none"] == 0.0  # float32 qx-tiny: its labels do not depend on the batch
    logged = str(out["samples"]["nle_sim"][0]["resps"])
    assert all(f"{field}=" in logged for field in ("explanation", "kind", "capped", "explain_prompt"))
    assert "Explanation:" in logged  # the explanation prompt sent


@pytest.mark.slow
def test_esnli_variant_reads_the_hub_schema_from_a_local_stand_in(qx_lm, tmp_path):
    rows = [{"premise": "A man plays a guitar.", "hypothesis": "A man makes music.", "label": 0,
             "explanation_1": "Playing a guitar makes music.", "explanation_2": "", "explanation_3": ""},
            {"premise": "A dog runs.", "hypothesis": "A cat sleeps.", "label": 2,
             "explanation_1": "A dog is not a cat.", "explanation_2": "Runs is not sleeps.", "explanation_3": ""}]
    data = tmp_path / "esnli.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = evaluate(qx_lm, ["nle_sim_esnli"], metadata={"data_path": str(data)})["results"]["nle_sim_esnli"]
    assert 0 <= res["rougeL,none"] <= 1
    assert -1 <= res["cosine,none"] <= 1


@pytest.mark.slow
def test_ecqa_variant_reads_the_hub_schema_from_a_local_stand_in(qx_lm, tmp_path):
    row = {"q_no": "1", "q_concept": "x", "q_text": "Where is soup kept warm?", "q_op1": "pot", "q_op2": "sky",
           "q_op3": "shoe", "q_op4": "road", "q_op5": "cloud", "q_ans": "pot", "taskA_pos": "", "taskA_neg": "",
           "taskB": "Soup is kept warm in a pot."}
    data = tmp_path / "ecqa.jsonl"
    data.write_text(json.dumps(row) + "\n" + json.dumps({**row, "q_ans": "sky"}) + "\n")
    res = evaluate(qx_lm, ["nle_sim_ecqa"], metadata={"data_path": str(data)})["results"]["nle_sim_ecqa"]
    assert 0 <= res["acc,none"] <= 1
    assert 0 <= res["rougeL,none"] <= 1


def test_ecqa_answer_outside_the_options_is_one_line():
    import datasets

    from qxbench.data.classify import normalise
    from qxbench.errors import QxError

    row = {"q_text": "Q", "q_op1": "a", "q_op2": "b", "q_op3": "c", "q_op4": "d", "q_op5": "e", "q_ans": "z",
           "taskB": "because"}
    with pytest.raises(QxError, match="answer 'z' is not one of the options"):
        normalise(datasets.Dataset.from_list([row]), "ecqa")


def test_bad_data_files_are_one_line(qx_lm, tmp_path):
    from qxbench.errors import QxError

    health = tmp_path / "healthfc.csv"
    health.write_text("en_claim,en_explanation,label\nMasks help?,They do.,0\n")
    with pytest.raises(QxError, match="'en_top_sentences'"):
        evaluate(qx_lm, ["nle_sim_healthfc"], limit=1, metadata={"data_path": str(health)})
    health.write_text("en_claim,en_top_sentences,en_explanation,label\nMasks help?,Studies.,They do.,5\n")
    with pytest.raises(QxError, match=r"label 5 is not an index into choices \['supported'"):
        evaluate(qx_lm, ["nle_sim_healthfc"], limit=1, metadata={"data_path": str(health)})
    empty = tmp_path / "esnli.jsonl"
    empty.write_text("")
    with pytest.raises(QxError, match="esnli.jsonl"):
        evaluate(qx_lm, ["nle_sim_esnli"], limit=1, metadata={"data_path": str(empty)})
    with pytest.raises(QxError, match="HealthFC is read from its own CSV"):
        evaluate(qx_lm, ["nle_sim_healthfc"], limit=1)


@pytest.mark.slow
def test_fewshot_demonstrations_are_drawn_from_the_split_and_never_evaluated(qx_lm, tmp_path):
    from qxbench.lmeval.explaintask import fewshot_split

    demos, kept = fewshot_split(10, 3)
    assert demos == fewshot_split(10, 3)[0]
    assert not set(demos) & set(kept)
    assert sorted(demos + kept) == list(range(10))
    rows = [{"premise": f"A man number {i} stands.", "hypothesis": f"A man {i} is here.", "label": i % 3,
             "explanation_1": f"Because {i}."} for i in range(6)]
    data = tmp_path / "esnli.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = evaluate(qx_lm, ["nle_sim_esnli"], metadata={"data_path": str(data), "num_fewshot": 2}, log_samples=True)
    samples = out["samples"]["nle_sim_esnli"]
    shown = {d["text"] for s in samples for d in s["arguments"][0][2]["demos"]}  # (prompt, doc, options)
    evaluated = {s["doc"]["text"] for s in samples}
    assert len(shown) == 2
    assert len(evaluated) == 4
    assert not shown & evaluated
    assert all(f"Hypothesis: {t}\nRelation:" in samples[0]["arguments"][0][0] for t in shown)  # shown in the prompt


@pytest.mark.parametrize(("again", "expected"), [(1, 0.0), (0, 1.0)])
def test_noise_is_whether_the_label_changed_in_the_second_batch_composition(again, expected):
    assert process_results(DOC, [dataclasses.replace(_ex(), pred_again=again)])["noise"] == expected
