"""benchmarks/studies/side_by_side.py: a config's answers beside full precision's, read from the committed runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks.studies import side_by_side as sbs

RUNS = Path(__file__).resolve().parents[1] / "benchmarks/results/runs"
QWEN05 = RUNS / "qwen2.5-coder-0.5b/explain-bfloat16"


def test_a_document_shows_both_labels_targets_kinds_and_answers():
    base, cand = sbs.answers(QWEN05, "fp", "cf_flip_esnli"), sbs.answers(QWEN05, "gptq-4b", "cf_flip_esnli")
    text = sbs.report({2: base[2]}, {2: cand[2]}, ("fp", "gptq-4b"), 20, every=False)
    assert "Hypothesis: 'A man poses in front of an ad.'" in text
    assert "[fp] label 'entailment' -> target 'neutral' · valid, rewrite labelled 'entailment'" in text
    assert "[gptq-4b] label 'neutral' -> target 'entailment' · valid, rewrite labelled 'neutral'" in text
    assert text.endswith("1 documents shown of 1 both answered")


def test_only_documents_whose_answers_differ_unless_all():
    base = sbs.answers(QWEN05, "fp", "cf_flip_sst2")
    same = sbs.report(base, base, ("fp", "fp"), 500, every=False)
    assert same == "0 documents shown of 100 both answered"
    assert sbs.report(base, base, ("fp", "fp"), 3, every=True).count("--- doc ") == 3


def test_explanations_show_their_kind(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["side_by_side", str(QWEN05), "gptq-4b", "nle_sim_healthfc", "-n", "1"])
    sbs.main()
    out = capsys.readouterr().out
    assert "[gptq-4b] label 'supported' · restates\n      'supported'" in out


@pytest.mark.parametrize(("config", "task", "says"), [
    ("gptq-8b", "cf_flip_sst2", "No config 'gptq-8b' in"),
    ("gptq-4b", "nle_sim_x", "No samples of task 'nle_sim_x' in"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, monkeypatch, config, task, says):
    monkeypatch.setattr(sys, "argv", ["side_by_side.py", str(QWEN05), config, task])
    with pytest.raises(SystemExit) as exit_:
        sbs.run(sbs.main)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err
    committed = ", ".join(sorted(p.name for p in QWEN05.iterdir() if p.is_dir()))  # the configs run so far
    assert "fp, gptq-4b" in committed and (f"choices: {committed}" in err or config == "gptq-4b")
