from __future__ import annotations

import json

import pytest

from qxbench.errors import QxError
from qxbench.probes.logged import read_result
from qxbench.probes.selfexplain import Counterfactual
from qxbench.study.samples import read_outputs, shown
from tests.study.conftest import write_runs


def test_labels_are_shown_by_name_and_an_empty_answer_as_empty():
    doc = {"choices": ["negative", "positive"]}
    cf = Counterfactual(0, 1, "Review: ", "valid", "", None, float("nan"), None, float("nan"))
    assert shown("counterfactual", doc, cf) == (
        ("predicted label", "negative"), ("requested label", "positive"), ("rewrite", "(empty)"))
    with pytest.raises(ValueError, match="Counterfactual.* has no explanation"):
        shown("explanation", doc, cf)
    ex = read_result("Explanation(pred=1, explanation='', inserted='', inserted_pred=1, inserted_explanation='')")
    assert shown("explanation", doc, ex) == (("predicted label", "positive"), ("explanation", "(empty)"))  # 3.x


def test_read_outputs_and_a_broken_line_is_one_line_naming_the_file(tmp_path):
    root = write_runs(tmp_path / "runs")
    results = next((root / "fp").glob("results_*.json"))
    outputs = read_outputs(results, "nle_sim", "explanation")
    assert sorted(outputs) == list(range(6))
    assert outputs[1].fields[1] == ("explanation", "fp says: The bath was dirty.")
    assert read_outputs(results, "memorize", "explanation") == {}
    samples = next((root / "fp").glob("samples_nle_sim_*.jsonl"))
    good = samples.read_text()
    tampered = json.loads(good.splitlines()[0])["filtered_resps"][0].replace('"kind": "valid"', '"kind": "nonsense"')
    bad = {"doc_id": 9, "doc": {"text": "t"}, "filtered_resps": [tampered]}
    samples.write_text(good + json.dumps(bad) + "\n")
    with pytest.raises(QxError, match=r"samples_nle_sim_.*:7: cannot read the logged response: "
                                      r"value: Unknown explanation kind 'nonsense'"):
        read_outputs(results, "nle_sim", "explanation")
    samples.write_text(good + json.dumps({**bad, "filtered_resps": ["Explanation(pred=0)"]}) + "\n")
    with pytest.raises(QxError, match=r":7: cannot read the logged response: value: the keys pred fit no Explanation"):
        read_outputs(results, "nle_sim", "explanation")


def test_committed_runs_gzipped_samples_read_the_same(tmp_path):
    """The committed runs keep their samples as .jsonl.gz: the study reads those as it reads .jsonl."""
    import gzip

    root = write_runs(tmp_path / "runs")
    results = next((root / "fp").glob("results_*.json"))
    plain = read_outputs(results, "nle_sim", "explanation")
    samples = next((root / "fp").glob("samples_nle_sim_*.jsonl"))
    samples.with_name(samples.name + ".gz").write_bytes(gzip.compress(samples.read_bytes()))
    samples.unlink()
    assert read_outputs(results, "nle_sim", "explanation") == plain != {}
    broken = samples.with_name(samples.name + ".gz")
    broken.write_bytes(b"not gzip")
    with pytest.raises(QxError, match=f"^Cannot read samples file {broken}"):
        read_outputs(results, "nle_sim", "explanation")
