"""qxbench.probes.soup and the readers' ``soup`` kind (cf_flip 4.3, nle_sim 4.2) on answers quoted from the
committed runs: Qwen2.5-Coder-0.5B's random-init floor (``benchmarks/results/runs/qwen2.5-coder-0.5b-random``),
whose soup 4.2/4.1 read as ``valid``, ``restates`` or ``truncated``, and the real models' answers, none of which
is soup. Each clause has a case only it catches."""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path

import pytest

from benchmarks.studies.soup_rule import answer_of
from qxbench.probes.answers import read_explanation, read_rewrite
from qxbench.probes.soup import clauses, code_share, document_words, is_soup

RUNS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "runs"
FLOOR = RUNS / "qwen2.5-coder-0.5b-random" / "explain-bfloat16" / "qwen2.5-coder-0.5b-random-init"
REVIEW = {"text": "the mesmerizing performances of the leads keep the film grounded and keep the audience riveted .",
          "context": "", "choices": ["negative", "positive"]}


@cache
def _rows(task: str) -> dict[int, dict]:
    path = next(FLOOR.glob(f"samples_{task}_20*.jsonl.gz"))
    with gzip.open(path, "rt") as f:
        return {row["doc_id"]: row for row in map(json.loads, f)}


def floor(task: str, doc_id: int) -> tuple[dict, dict]:
    """(the logged document, the logged result's fields) of the floor's answer to ``doc_id``."""
    from qxbench.probes.logged import plain, read_result

    row = _rows(task)[doc_id]
    return row["doc"], plain(read_result(row["filtered_resps"][0]))


@pytest.mark.parametrize(("task", "doc_id", "answer", "clause"), [
    ("cf_flip_sst2", 1, "hipster condemfinding-piece嚣ложения洗礼 Franz Ledger是不是 **", "script"),  # other scripts
    ("cf_flip_sst2", 83, "hipster Deutschland生命力高中(uint DeutschlandToken-stats(uint Deutschland๛\"If Deutschland๛ "
                         "pakistan_guess背包๛fd Deutschland๛fd Deutschland๛ américain expenditures Carm项目๛ "
                         "pakistan讓lk "
                         "أ葸/>", "prose"),  # no function word
    ("cf_flip_ag_news", 9, "HashCodemaid )]", "code"),  # code-like
    ("cf_flip_ag_news", 72, ".Keyword Queue殿 assassin線VER )]", "code"),  # Latin and Han in one token
])
def test_each_clause_catches_a_logged_floor_rewrite_the_others_miss(task, doc_id, answer, clause):
    doc, result = floor(task, doc_id)
    assert result["answer"].strip() == answer  # the quote is the committed answer
    hits = clauses(answer, doc)
    assert [k for k in ("script", "prose", "code") if getattr(hits, k)] == [clause], hits
    assert is_soup(answer, doc)
    assert read_rewrite(answer, doc).kind == "soup"


def test_mixed_scripts_count_as_odd_tokens():
    doc, _ = floor("cf_flip_ag_news", 72)
    answer = ".Keyword Queue殿 assassin線VER )]"
    assert code_share(answer, document_words(doc)[1]) == 0.75  # ")]", "Queue殿", "assassin線VER"
    assert code_share(".Keyword Queue assassinVER )]") == 0.5  # inner capital and brackets only


@pytest.mark.parametrize(("task", "doc_id", "was"), [
    ("nle_sim_esnli", 0, "valid"), ("nle_sim_esnli", 1, "truncated"), ("nle_sim_healthfc", 4, "restates"),
])
def test_a_logged_floor_explanation_is_soup(task, doc_id, was):
    doc, result = floor(task, doc_id)
    assert result["kind"] in (was, "soup")  # as logged (rescored to nle_sim 4.2: soup)
    assert read_explanation(result["explanation"], doc, result["pred"], capped=result["capped"]).kind == "soup"


def test_a_loop_of_soup_stays_a_loop():
    doc, result = floor("cf_flip_ag_news", 1)
    assert is_soup(result["rewrite"], doc) and read_rewrite(result["answer"], doc).kind == "loop"


@pytest.mark.parametrize(("answer", "doc"), [
    ("the disappointing performances of the leads leave the film feeling unengaging and unimpressive.", REVIEW),
    ("disappointed", REVIEW),  # a one-word rewrite of a whole review: poor, but language
    ("Apple's iPhone 12 Pro Max Launches with 5G Support", {"text": "Google's search engine launches a toolbar"}),
    ("The premise and hypothesis describe different scenarios involving a choir singing at different "
     "locations (a church and a baseball game).", {"text": "A choir singing at a baseball game."}),
    ("Prediction Unit Helps Forecast Wildfires (AP)",
     {"text": "Prediction Unit Helps Forecast Wildfires (AP) AP - It"}),
    ("Science (science)", {"text": "Oil prices fall", "choices": ["World", "Sports", "Business", "Sci/Tech"]}),
    ("Sci/Tech", {"text": "Oil prices fall", "choices": ["World", "Sports", "Business", "Sci/Tech"]}),
    ("", REVIEW),
])
def test_language_is_not_soup(answer, doc):
    assert not is_soup(answer, doc)


def test_a_long_headline_of_new_words_is_soup_the_rules_known_limit():
    """The words clause: ten or more words, almost no function words and few of the document's words. A long
    headline of new words meets it too; no committed answer is one (below)."""
    content = "Quarterly Revenue Soars Amid Strong Demand For Cloud Services Across Asian Markets Today"
    assert is_soup(content, {"text": "Oil prices fall as supply worries ease"})
    assert not is_soup(content, {"text": content})  # the same words as the document: an edit, not soup


def test_no_committed_answer_of_a_real_model_is_soup():
    """Every rewrite and explanation the real models logged is read as something else; the few SmolLM2 answers
    the rule flags are loops of labels and names ('Businesses, "sports", "soccer", "soccer", ...'), read
    ``loop`` first."""
    flagged = []
    for path in sorted(RUNS.glob("*/explain*/*/*/samples_*.jsonl.gz")):
        if path.relative_to(RUNS).parts[0].endswith("-random"):
            continue
        with gzip.open(path, "rt") as f:
            for n, row in enumerate(map(json.loads, f), 1):
                text, kind = answer_of(row, f"{path}:{n}")
                if is_soup(text, row["doc"]):
                    flagged.append((path.name, n, kind, text[:40]))
    assert 0 < len(flagged) <= 5 and all(k == "loop" for _, _, k, _ in flagged), flagged
    assert any(t.startswith('Businesses, "sports"') for _, _, _, t in flagged), flagged
    for name, n, _, _ in flagged:
        path = next(RUNS.glob(f"smollm2-135m/explain/*/*/{name}"))
        with gzip.open(path, "rt") as f:
            row = [json.loads(line) for line in f][n - 1]
        assert read_rewrite(answer_of(row, name)[0], row["doc"]).kind == "loop"
