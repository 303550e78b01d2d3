from __future__ import annotations

import datasets
import pytest

from qxbench.data.classify import classify_prompt, normalise
from qxbench.errors import QxError
from qxbench.probes.answers import Rewrite, read_rewrite
from qxbench.probes.prompts import PromptSet


def _ds(rows):
    return datasets.Dataset.from_list(rows)


def test_completion_prompts_follow_the_embedded_training_format():
    doc = {"text": "The tea was warm.", "choices": ["negative", "positive"], "input_name": "Review",
           "label_name": "Sentiment"}
    old = PromptSet("completion-0")
    assert classify_prompt(doc) == old.classify(doc) == "Review: The tea was warm.\nSentiment:"
    assert old.rewrite(doc, 1, 0) == "Review: The tea was warm.\nSentiment: positive\nRewrite as negative:"
    assert old.explain(doc, 0, "X.") == "Review: X.\nSentiment: negative\nExplanation:"


def test_instruction_prompts_state_task_labels_prediction_target_and_minimality():
    esnli = normalise(_ds([{"premise": "P.", "hypothesis": "H.", "label": 2, "explanation_1": "E"}]), "esnli")[0]
    ask = PromptSet("instruct-1").rewrite(esnli, 2, 0)
    assert esnli["task"] in ask
    assert '"entailment", "neutral", "contradiction"' in ask
    assert "Relation: contradiction" in ask
    assert 'becomes "entailment" instead of "contradiction"' in ask
    assert "Change as few words as possible" in ask
    assert "Premise: P.\nHypothesis: H." in ask
    assert ask.endswith("Rewritten hypothesis:")
    assert "rewrite only the hypothesis" in ask
    demo = {**esnli, "text": "D.", "label": 0, "explanations": ["because"]}
    shown = PromptSet("instruct-1", (demo,)).explain(esnli, 2)
    assert "Hypothesis: D.\nRelation: entailment\nExplanation: because" in shown
    # the cue a model repeats and the quotes are dropped by the reader (cf_flip 4.0: one reader for every prompt set)
    assert read_rewrite(' Rewritten hypothesis: "A dog runs." ', esnli) == Rewrite("A dog runs.", "valid")
    with pytest.raises(QxError, match="Unknown prompt set 'instruct'"):
        PromptSet("instruct")


def test_adapters_map_real_schemas():
    sst2 = normalise(_ds([{"idx": 0, "sentence": "Fine.", "label": 1}]), "sst2")[0]
    assert sst2["choices"] == ["negative", "positive"]
    assert sst2["label"] == 1
    assert sst2["text"] == "Fine."
    esnli = normalise(_ds([{"premise": "P.", "hypothesis": "H.", "label": 2, "explanation_1": "E1",
                            "explanation_2": "", "explanation_3": "E3"}]), "esnli")[0]
    assert esnli["text"] == "H."
    assert esnli["context"] == "P."
    assert esnli["explanations"] == ["E1", "E3"]
    assert esnli["choices"][esnli["label"]] == "contradiction"


def test_unlabelled_rows_are_dropped_and_an_all_unlabelled_split_refused():
    ds = _ds([{"sentence": "a", "label": -1}, {"sentence": "b", "label": 0}])
    assert len(normalise(ds, "sst2")) == 1
    with pytest.raises(QxError, match="no labelled rows"):
        normalise(_ds([{"sentence": "a", "label": -1}]), "sst2")


def test_bad_input_is_one_line_naming_the_value():
    with pytest.raises(QxError, match="missing required field 'sentence' \\(has: label, text\\)"):
        normalise(_ds([{"text": "a", "label": 0}]), "sst2", name="stanfordnlp/sst2")
    with pytest.raises(QxError, match="label 7 is not an index"):
        normalise(_ds([{"sentence": "a", "label": 7}]), "sst2")
    with pytest.raises(QxError, match="Unknown dataset adapter 'sst'. Did you mean 'sst2'"):
        normalise(_ds([{"sentence": "a", "label": 0}]), "sst")
    with pytest.raises(QxError, match="no reference explanation"):
        normalise(_ds([{"premise": "P", "hypothesis": "H", "label": 0, "explanation_1": ""}]), "esnli",
                  need_explanations=True)


def test_healthfc_reads_its_own_columns_and_labels():
    row = {"en_claim": "Masks help?", "en_top_sentences": "Studies show they do.", "en_explanation": "They do.",
           "label": "0"}
    doc = normalise(_ds([row]), "healthfc")[0]
    assert doc["text"] == "Masks help?"
    assert doc["context"] == "Studies show they do."
    assert doc["label"] == 0
    assert doc["choices"] == ["supported", "not enough information", "refuted"]
    assert doc["normalise"]
    with pytest.raises(QxError, match="label 3 is not an index into choices"):
        normalise(_ds([{**row, "label": 3}]), "healthfc", name="HealthFC")
    with pytest.raises(QxError, match="missing required field 'en_top_sentences'"):
        normalise(_ds([{k: v for k, v in row.items() if k != "en_top_sentences"}]), "healthfc")


def test_one_hypothesis_per_premise_in_file_order_and_rows_without_a_premise_kept():
    from qxbench.data.classify import one_per_context

    rows = [{"context": p, "text": f"{p}{k}"} for p in ("A dog runs.", "A cat sleeps.") for k in range(3)]
    rows += [{"context": "", "text": "alone 1"}, {"context": "", "text": "alone 2"}]
    kept = one_per_context(rows)
    assert [r["context"] for r in kept] == ["A dog runs.", "A cat sleeps.", "", ""]
    assert kept == one_per_context(list(rows))  # deterministic
    assert len({r["text"][-1] for r in one_per_context(  # not always the premise's first hypothesis
        [{"context": f"premise {i}", "text": f"h{k}"} for i in range(30) for k in range(3)])}) == 3
