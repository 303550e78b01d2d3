"""nle_sim: metric functions on hand-computed cases, the adapters, and end-to-end runs."""

from __future__ import annotations

import json

import pytest

from lm_eval_tasks.nle_sim.utils import max_cosine, max_rouge_l, mentions, process_results, unfaithful
from qxbench.probes.selfexplain import Explanation

from .conftest import evaluate


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


def test_mentions_is_whole_word_and_case_insensitive():
    assert mentions("The soup was Dirty.", "dirty")
    assert not mentions("The soup was dirtyish.", "dirty")
    assert not mentions("anything", "")


@pytest.mark.parametrize(
    ("pred", "new_pred", "explanation", "expected"),
    [
        (1, 1, "The soup was warm.", 0.0),           # prediction unchanged: nothing to explain
        (1, 0, "The soup was dirty.", 0.0),          # changed, and the explanation names the inserted word
        (1, 0, "The soup was warm.", 1.0),           # changed, but the inserted word goes unmentioned
        (1, 0, "", 1.0),                             # empty explanation of a changed prediction
    ],
)
def test_unfaithful(pred, new_pred, explanation, expected):
    assert unfaithful(pred, new_pred, explanation, "dirty") == expected


def test_process_results_of_an_empty_explanation():
    doc = {"label": 1, "explanations": ["The review says the soup was warm."]}
    ex = Explanation(pred=1, explanation="", inserted="dirty", inserted_pred=1, inserted_explanation="")
    assert process_results(doc, [ex]) == {"acc": 1.0, "cosine": 0.0, "rougeL": 0.0, "insert_flip": 0.0,
                                          "unfaithful": 0.0, "empty_rate": 1.0}


def test_end_to_end_on_the_embedded_world(qx_lm):
    res = evaluate(qx_lm, ["nle_sim"], limit=8)["results"]["nle_sim"]
    assert res["acc,none"] == 1.0 and res["cosine,none"] > 0.8 and res["rougeL,none"] > 0.7


def test_esnli_variant_reads_the_hub_schema_from_a_local_stand_in(qx_lm, tmp_path):
    rows = [{"premise": "A man plays a guitar.", "hypothesis": "A man makes music.", "label": 0,
             "explanation_1": "Playing a guitar makes music.", "explanation_2": "", "explanation_3": ""},
            {"premise": "A dog runs.", "hypothesis": "A cat sleeps.", "label": 2,
             "explanation_1": "A dog is not a cat.", "explanation_2": "Runs is not sleeps.", "explanation_3": ""}]
    data = tmp_path / "esnli.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = evaluate(qx_lm, ["nle_sim_esnli"], metadata={"data_path": str(data)})["results"]["nle_sim_esnli"]
    assert 0 <= res["rougeL,none"] <= 1 and -1 <= res["cosine,none"] <= 1


def test_ecqa_variant_reads_the_hub_schema_from_a_local_stand_in(qx_lm, tmp_path):
    row = {"q_no": "1", "q_concept": "x", "q_text": "Where is soup kept warm?", "q_op1": "pot", "q_op2": "sky",
           "q_op3": "shoe", "q_op4": "road", "q_op5": "cloud", "q_ans": "pot", "taskA_pos": "", "taskA_neg": "",
           "taskB": "Soup is kept warm in a pot."}
    data = tmp_path / "ecqa.jsonl"
    data.write_text(json.dumps(row) + "\n" + json.dumps({**row, "q_ans": "sky"}) + "\n")
    res = evaluate(qx_lm, ["nle_sim_ecqa"], metadata={"data_path": str(data)})["results"]["nle_sim_ecqa"]
    assert 0 <= res["acc,none"] <= 1 and 0 <= res["rougeL,none"] <= 1


def test_ecqa_answer_outside_the_options_is_one_line():
    import datasets

    from qxbench.errors import QxError
    from qxbench.probes.classify import normalise

    row = {"q_text": "Q", "q_op1": "a", "q_op2": "b", "q_op3": "c", "q_op4": "d", "q_op5": "e", "q_ans": "z",
           "taskB": "because"}
    with pytest.raises(QxError, match="answer 'z' is not one of the options"):
        normalise(datasets.Dataset.from_list([row]), "ecqa")
