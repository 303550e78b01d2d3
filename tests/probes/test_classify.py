from __future__ import annotations

import datasets
import pytest

from qxbench.errors import QxError
from qxbench.probes.classify import classify_prompt, explain_prompt, normalise, rewrite_prompt


def _ds(rows):
    return datasets.Dataset.from_list(rows)


def test_prompts_follow_the_embedded_training_format():
    doc = {"text": "The tea was warm.", "choices": ["negative", "positive"], "input_name": "Review",
           "label_name": "Sentiment"}
    assert classify_prompt(doc) == "Review: The tea was warm.\nSentiment:"
    assert rewrite_prompt(doc, 1, 0) == "Review: The tea was warm.\nSentiment: positive\nRewrite as negative:"
    assert explain_prompt(doc, 0, "X.") == "Review: X.\nSentiment: negative\nExplanation:"


def test_adapters_map_real_schemas():
    sst2 = normalise(_ds([{"idx": 0, "sentence": "Fine.", "label": 1}]), "sst2")[0]
    assert sst2["choices"] == ["negative", "positive"] and sst2["label"] == 1 and sst2["text"] == "Fine."
    esnli = normalise(_ds([{"premise": "P.", "hypothesis": "H.", "label": 2, "explanation_1": "E1",
                            "explanation_2": "", "explanation_3": "E3"}]), "esnli")[0]
    assert esnli["text"] == "P. Hypothesis: H." and esnli["explanations"] == ["E1", "E3"]
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
