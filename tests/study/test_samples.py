from __future__ import annotations

import json
import math

import pytest

from qxbench.errors import QxError
from qxbench.probes.selfexplain import Counterfactual, Explanation
from qxbench.study.samples import parse_response, read_outputs, shown
from tests.study.conftest import write_runs


def test_the_logged_repr_is_read_back_field_by_field():
    ex = Explanation(1, "It's \"warm\", so positive.\nYes", "valid", False, "awful", 0, "")
    assert parse_response(str(ex)) == {"pred": 1, "explanation": "It's \"warm\", so positive.\nYes", "kind": "valid",
                                       "capped": False, "inserted": "awful", "inserted_pred": 0,
                                       "inserted_explanation": ""}
    cf = parse_response(str(Counterfactual(0, 1, "Review: x", "valid", "x", None, float("nan"), None, float("nan"),
                                           rewrite_prompt="Rewrite the review ...")))
    assert cf["rewrite_pred"] is None and math.isnan(cf["ppl"]) and cf["kind"] == "valid"
    assert cf["answer"] == "Review: x" and cf["rewrite_prompt"] == "Rewrite the review ..."


def test_json_responses_are_read_too_and_code_is_never_run():
    assert parse_response('{"pred": 0, "explanation": "e"}') == {"pred": 0, "explanation": "e"}
    with pytest.raises(ValueError):
        parse_response("Explanation(pred=__import__('os').getpid())")
    with pytest.raises(ValueError):
        parse_response("print('x')")  # positional arguments: not a logged result


def test_labels_are_shown_by_name_and_an_empty_answer_as_empty():
    doc = {"choices": ["negative", "positive"]}
    assert shown("counterfactual", doc, {"pred": 0, "target": 1, "rewrite": ""}) == (
        ("predicted label", "negative"), ("requested label", "positive"), ("rewrite", "(empty)"))
    with pytest.raises(ValueError, match="no explanation"):
        shown("explanation", doc, {"pred": 0})


def test_read_outputs_and_a_broken_line_is_one_line_naming_the_file(tmp_path):
    root = write_runs(tmp_path / "runs")
    results = next((root / "fp").glob("results_*.json"))
    outputs = read_outputs(results, "nle_sim", "explanation")
    assert sorted(outputs) == list(range(6)) and outputs[1].fields[1] == ("explanation", "fp says: The bath was dirty.")
    assert read_outputs(results, "memorize", "explanation") == {}
    samples = next((root / "fp").glob("samples_nle_sim_*.jsonl"))
    bad = {"doc_id": 9, "doc": {"text": "t"}, "filtered_resps": ["Explanation(pred=0)"]}
    samples.write_text(samples.read_text() + json.dumps(bad) + "\n")
    with pytest.raises(QxError, match=r"samples_nle_sim_.*:7: cannot read the logged response: .*no explanation"):
        read_outputs(results, "nle_sim", "explanation")
