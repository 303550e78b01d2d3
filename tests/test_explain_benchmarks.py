"""The explanation benchmarks read runs of cf_flip / nle_sim 3.x (the committed ones) and 4.0 alike;
label_leak.py, which needs 3.1's code, says in one line where to run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.studies import explain_real
from benchmarks.tables import explain_examples

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

V3 = {"doc_id": 0, "context": "", "text": "it 's a charming and often affecting journey .", "context_name": "",
      "choices": ["negative", "positive"], "gold": "positive",
      "response": "Counterfactual(pred=1, target=0, rewrite='The movie review was \"negative\".', rewrite_pred=0, "
                  "ppl=151.7, ref_ppl=151.7, ref_pred=1, ref_rewrite_pred=0, prompts='instruct-1')",
      "metrics": {"acc": 1.0, "flip_rate": 0.0, "minimality": 0.917, "cosine": 0.0712, "ppl": 151.7,
                  "empty_rate": 0.0, "unchanged_rate": 0.0, "label_leak_rate": 1.0}}
V4 = {**V3, "response": "Counterfactual(pred=1, target=0, answer='The movie review was \"negative\".', kind='leak', "
                        "rewrite='The movie review was \"negative\".', rewrite_pred=None, ppl=nan, ref_ppl=nan, "
                        "input_ppl=nan, ref_pred=1, prompts='instruct-1')",
      "metrics": {"acc": 1.0, "agree_fp": 1.0, "flip_rate": 0.0, "minimality": float("nan"), "ppl_ratio": 2.5,
                  "rewrite_valid": 0.0, "rewrite_leak": 1.0, "pred_majority": [1, "positive"]}}


def test_examples_of_3x_runs_show_their_rates_and_4_0_runs_the_answer_s_kind():
    _, _, old = explain_examples.rows("cf_flip", {"cf_flip_sst2": [V3]})
    assert "label_leak_rate 1.00" in old
    assert "unchanged_rate 0" in old
    assert "kind" not in old
    _, _, new = explain_examples.rows("cf_flip", {"cf_flip_sst2": [V4]})
    assert new.endswith("| kind leak, acc 1.00, flip_rate 0, minimality –, ppl_ratio 2.50 |")


def test_the_readme_table_keeps_3x_and_4_0_names():
    from dataclasses import asdict

    from leaderboard.compare.cell import Cell

    names = [("cf_flip_sst2", "label_leak_rate"), ("cf_flip_sst2", "rewrite_leak"), ("cf_flip_sst2", "agree_fp"),
             ("cf_flip_sst2", "rewrite_copy"), ("cf_flip_sst2", "rewrite_stub"), ("cf_flip_sst2", "minimality"),
             ("nle_sim_esnli", "insert_flip"), ("nle_sim_esnli", "expl_copy"), ("nle_sim_esnli", "expl_restates")]
    cells = [asdict(Cell("m", "bnb-nf4-4b", t, m, 0.5, True, 0.5, 0.0, p=1.0)) for t, m in names]
    kept = {(c["task"], c["metric"]) for c in explain_real.condensed(cells)}
    assert kept == {("cf_flip_sst2", "label_leak_rate"), ("cf_flip_sst2", "rewrite_leak"),
                    ("cf_flip_sst2", "agree_fp"), ("cf_flip_sst2", "rewrite_stub"), ("nle_sim_esnli", "insert_flip"),
                    ("nle_sim_esnli", "expl_restates")}


def test_the_committed_examples_still_print(capsys):
    data = json.loads((BENCHMARKS / "results" / "explain_real.json").read_text())
    table = explain_examples.rows("cf_flip", data["examples"])
    assert len(table) == 2 + 3 * 4
    assert all("kind " in row and "label_leak_rate" not in row for row in table[2:])  # 4.x: the answer's kind


@pytest.mark.slow
def test_label_leak_on_current_code_says_where_to_run_it():
    run = subprocess.run([sys.executable, "-m", "benchmarks.studies.label_leak"], capture_output=True, text=True,
                         cwd=BENCHMARKS.parent, timeout=300)
    assert run.returncode == 2
    assert run.stdout == ""
    (line,) = run.stderr.splitlines()
    assert (line.endswith("git worktree add /tmp/v31 a249d11 && cd /tmp/v31 && PYTHONPATH=/tmp/v31 python "
                         "benchmarks/label_leak.py"))
    assert "leaks_label, removed in cf_flip 4.0" in line


def test_the_readme_and_docs_tables_are_the_committed_json():
    """The explanation table the README and docs/explanations.md show is the one explain_real.py wrote last
    (``markdown_readme``): a rerun that changes a cell cannot leave the text behind."""
    table = json.loads((BENCHMARKS / "results" / "explain_real.json").read_text())["markdown_readme"]
    assert table in (BENCHMARKS.parent / "README.md").read_text()
    assert table in (BENCHMARKS.parent / "docs" / "explanations.md").read_text()


def test_an_invocation_that_remakes_some_runs_keeps_every_earlier_one_s_record():
    """Issue 37's runs were made one config at a time: each keeps the others' commands and seconds."""
    first = {"commands": {"sweep": ["--quants", "none"]}, "wall_seconds": {"total": 10.0}, "limit": 100}
    second = explain_real.earlier(first, {"sweep": ["--quants", "none,rtn:bits=4"]}, remade=False)
    assert second == {"earlier": [first]}
    third = explain_real.earlier({**first, "commands": {"sweep": ["--quants", "none,rtn:bits=4"]}, **second},
                                 {"sweep": ["--quants", "none,bnb-nf4"]}, remade=False)
    assert [e["commands"]["sweep"][1] for e in third["earlier"]] == ["none", "none,rtn:bits=4"]
    assert explain_real.earlier({**first, **second}, first["commands"], remade=False) == second  # report-only
    assert explain_real.earlier({**first, **second}, {"sweep": []}, remade=True) == {}


def test_the_recorded_limit_is_the_runs_and_one_limit_per_table():
    class Run:
        def __init__(self, *limits):
            self.tasks = {f"t{i}": type("T", (), {"limit": x})() for i, x in enumerate(limits)}

    assert explain_real.run_limit([Run(100.0, 100.0)], [Run(100.0)]) == 100
    with pytest.raises(SystemExit, match="--limit"):
        explain_real.run_limit([Run(100.0)], [Run(50.0)])
