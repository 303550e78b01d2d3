"""nle_sim 4.3-4.5's ``restates`` for an explanation that adds no word to its labels, input and task
(qxbench.probes.restates), on explanations quoted from the committed Qwen2.5-Coder runs (documents 0-99,
bfloat16), each checked against its logged sample; the document is the logged one."""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path

import pytest

from qxbench.probes.answers import read_explanation
from qxbench.probes.logged import plain, read_result
from qxbench.probes.restates import adds_nothing, opened, stem

RUNS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "runs"


@cache
def _rows(model: str, config: str, task: str) -> dict[int, dict]:
    path = next((RUNS / model / "explain-bfloat16" / config / model).glob(f"samples_{task}_20*.jsonl.gz"))
    with gzip.open(path, "rt") as f:
        return {row["doc_id"]: row for row in map(json.loads, f)}


CASES = [  # (model, config, task, doc_id, the logged explanation, its kind under 4.5)
    ("qwen2.5-coder-1.5b", "gptq-4b", "nle_sim_healthfc", 7,
     "The evidence does not provide enough information to determine if Damiana extract helps with erectile "
     "dysfunction.", "restates"),
    ("qwen2.5-coder-1.5b", "fp", "nle_sim_healthfc", 27,
     "The evidence supports the health claim that ginkgo extract can improve mental performance in dementia "
     "patients.", "restates"),
    ("qwen2.5-coder-0.5b", "fp", "nle_sim_esnli", 1, "The premise entails the hypothesis because the woman is young.",
     "restates"),
    # 4.4: the verbs a restatement reports with are the task's (4.3 read "states", "described" as reasons)
    ("qwen2.5-coder-0.5b", "bnb-nf4", "nle_sim_healthfc", 57,
     'The verdict is "not enough information" because the evidence does not support the health claim. The claim '
     "states that a cold spray with trypsin can protect against colds or covid-19, but the evidence does not provide "
     "enough information to determine if the spray reduces symptoms and duration of illness.", "restates"),
    ("qwen2.5-coder-1.5b", "gptq-4b", "nle_sim_healthfc", 49,
     "The evidence does not provide enough information to determine if ozone therapy, as described, can favorably "
     "influence the course of COVID-19 disease.", "restates"),
    # a reason: the evidence's words, the premise's, or any word of its own
    ("qwen2.5-coder-1.5b", "fp", "nle_sim_healthfc", 90,
     'The verdict is "supported" because the evidence shows that probiotics can help alleviate the symptoms of '
     "irritable bowel syndrome, as demonstrated by the results of the study.", "valid"),
    ("qwen2.5-coder-0.5b", "fp", "nle_sim_esnli", 6,
     "The premise entails the hypothesis because the doctor and her African American assistant are looking at a "
     "book.", "valid"),
    # 4.5: "implies", "mention" give a reason (4.4 read them as the task's words, and these as restating)
    ("qwen2.5-coder-0.5b", "bnb-nf4", "nle_sim_healthfc", 43,
     'The verdict is "not enough information" because the evidence does not provide enough information to support '
     "the health claim. The claim is about the risk of Alzheimer's disease or other forms of dementia, but the "
     "evidence does not mention benzodiazepines and related substances.", "valid"),  # a reason, if a false one
    ("qwen2.5-coder-1.5b", "fp", "nle_sim_esnli", 71,
     "The premise entails the hypothesis because the child is on the library steps, which implies that they are on "
     "the steps inside the library.", "valid"),
    # no fixed part (ECQA): the question restated with its answer cannot be told from a reason; not judged
    ("qwen2.5-coder-1.5b", "fp", "nle_sim_ecqa", 45, "The ship's hold is a place where cargo is stored on a ship.",
     "valid"),
]


@pytest.mark.parametrize(("model", "config", "task", "doc_id", "answer", "kind"), CASES,
                         ids=[f"{c[5]}-{c[0][-4:]}-{c[1]}-{c[2]}-{c[3]}" for c in CASES])
def test_a_logged_explanation_reads_as_its_kind(model, config, task, doc_id, answer, kind):
    row = _rows(model, config, task)[doc_id]
    logged = plain(read_result(row["filtered_resps"][0]))
    assert logged["explanation"] == answer
    assert read_explanation(answer, row["doc"], logged["pred"], capped=logged["capped"]).kind == kind
    assert adds_nothing(answer, row["doc"]) == (kind == "restates")


def test_one_word_of_its_own_is_a_reason():
    row = _rows("qwen2.5-coder-1.5b", "gptq-4b", "nle_sim_healthfc")[7]
    said = ("The evidence does not provide enough information to determine if Damiana extract helps with erectile "
            "dysfunction")
    assert adds_nothing(said + ".", row["doc"])
    assert not adds_nothing(said + " in older men.", row["doc"])
    assert not adds_nothing("", row["doc"])  # nothing said is empty, not restating


@pytest.mark.parametrize("contracted", ["doesn't", "doesn’t"])
def test_a_contraction_reads_as_its_words(contracted):
    """4.4: "doesn't" is "does not" (4.3 read "doesn" and "t" as words of its own: the same restatement escaped)."""
    row = _rows("qwen2.5-coder-1.5b", "gptq-4b", "nle_sim_healthfc")[7]
    said = ("The evidence {} provide enough information to determine if Damiana extract helps with erectile "
            "dysfunction. It {} help.")
    assert adds_nothing(said.format("does not", "can not"), row["doc"])
    assert adds_nothing(said.format(contracted, "can't"), row["doc"])
    assert adds_nothing(said.format(contracted, "cannot"), row["doc"])
    assert not adds_nothing(said.format(contracted, "can't") + " Nobody's tried.", row["doc"])  # words of its own


ESNLI = {"context": "A man walks his dog.", "text": "A man walks his dog to the park.",
         "choices": ["entailment", "neutral", "contradiction"]}


@pytest.mark.parametrize("reason", ["Just because a man walks his dog does not mean he walks it to the park.",
                                    "A man walking his dog doesn't imply that he walks it to the park.",
                                    "The premise does not mention the park."])
def test_mean_imply_mention_give_a_reason(reason):
    """4.5: e-SNLI's usual neutral reason is built from the hypothesis's words and "mean"/"imply"/"mention";
    4.4 counted those verbs as the task's and so read it as a restatement."""
    assert not adds_nothing(reason, ESNLI)
    assert adds_nothing("The premise shows that a man walks his dog to the park.", ESNLI)  # reporting verb: task's


@pytest.mark.parametrize("apostrophe", ["'", "’", "‘", "ʼ", "`", "´"])
def test_every_apostrophe_opens_a_contraction(apostrophe):
    """4.5: "doesnʼt" (U+02BC, a letter to ``\\w``) was one word of its own, "doesn‘t" two ("doesn", "t")."""
    assert adds_nothing(f"The premise doesn{apostrophe}t say whether a man walks his dog to the park.", ESNLI)
    assert opened(f"It doesn{apostrophe}t.") == ["it", "does", "not"]


def test_stem_strips_one_inflection_and_a_final_e():
    assert {stem(w) for w in ("supports", "supported", "supporting", "support")} == {"support"}
    assert stem("reduces") == stem("reduce") == "reduc"
    assert stem("is") == "is" and stem("the") == "the"  # too short to strip
