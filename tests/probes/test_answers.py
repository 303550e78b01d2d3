"""Answer kinds (qxbench.probes.answers) on real answers from the committed explanation runs.

Each case quotes an answer SmolLM2-135M-Instruct gave in its protocol 3 runs, the ones issue 38 was read
from (``benchmarks/results/protocol3/smollm2-135m/explain/<config>/``, kept there when protocol 4's runs
replaced them in ``benchmarks/results/runs/``), and checks the quote against the logged sample; its document
is rebuilt through the classification normaliser from the logged row, as the probes build it.
"""

from __future__ import annotations

import gzip
import json
import math
from functools import cache
from pathlib import Path

import datasets
import pytest

from qxbench.data.classify import normalise
from qxbench.errors import QxError
from qxbench.probes.answers import (
    EXPLANATION_KINDS,
    REWRITE_KINDS,
    kind_rates,
    read_explanation,
    read_rewrite,
)
from qxbench.probes.logged import plain, read_result

RUNS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "protocol3" / "smollm2-135m" / "explain"
SST2 = Path("/work/shared/data/explain/sst2_validation.jsonl")

# the raw row each adapter reads, back from a logged (normalised) document
RAW = {
    "sst2": lambda d: {"sentence": d["text"], "label": d["label"]},
    "ag_news": lambda d: {"text": d["text"], "label": d["label"]},
    "esnli": lambda d: {"premise": d["context"], "hypothesis": d["text"], "label": d["label"],
                        **{f"explanation_{i + 1}": e for i, e in enumerate(d["explanations"])}},
    "ecqa": lambda d: {"q_text": d["text"], **{f"q_op{i + 1}": c for i, c in enumerate(d["choices"])},
                       "q_ans": d["choices"][d["label"]], "taskB": d["explanations"][0]},
    "healthfc": lambda d: {"en_claim": d["text"], "en_top_sentences": d["context"],
                           "en_explanation": d["explanations"][0], "label": d["label"]},
}


@cache
def _rows(config: str, task: str) -> dict[int, dict]:
    path = next((RUNS / config / "smollm2-135m").glob(f"samples_{task}_20*.jsonl.gz"))
    with gzip.open(path, "rt") as f:
        return {row["doc_id"]: row for row in map(json.loads, f)}


def logged(config: str, task: str, doc_id: int) -> tuple[dict, dict]:
    """(the document rebuilt by the normaliser, the logged result's fields)."""
    row = _rows(config, task)[doc_id]
    adapter = task.split("_", 2)[2]
    doc = normalise(datasets.Dataset.from_list([RAW[adapter](row["doc"])]), adapter)[0]
    assert {k: doc[k] for k in ("text", "context", "choices", "label")} == \
        {k: row["doc"][k] for k in ("text", "context", "choices", "label")}
    return doc, plain(read_result(row["resps"][0][0]))


REWRITES = [  # (config, task, doc_id, the logged rewrite, its kind)
    ("bnb-nf4", "cf_flip_healthfc", 1, "Rewrite claim:", "stub"),
    ("gptq-4b", "cf_flip_ag_news", 0, "The article:", "stub"),
    ("bnb-nf4", "cf_flip_sst2", 12, "Review:", "stub"),
    ("bnb-nf4", "cf_flip_sst2", 24, "Review: seldom has a movie so closely matched the spirit of a man and his work .",
     "copy"),
    ("bnb-nf4", "cf_flip_esnli", 6, "Premise: An old man with a package poses in front of an advertisement.",
     "context_copy"),
    ("fp", "cf_flip_esnli", 6, "The old man with a package poses in front of an advertisement.", "context_copy"),
    ("bnb-nf4", "cf_flip_healthfc", 8,
     "Evidence: No studies on Neradin also remained resultless. Studies on the product Neradin also appear to be "
     "missing.", "context_copy"),
    ("fp", "cf_flip_sst2", 14, 'The review is rewritten to: "' * 10, "loop"),
    ("rtn-4b", "cf_flip_ag_news", 31, "Businesses", "leak"),
    ("fp", "cf_flip_ag_news", 24, "Rebranded: Soccer", "leak"),
    ("bnb-nf4", "cf_flip_sst2", 0, "Sentiment: negative", "leak"),
    ("rtn-4b", "cf_flip_sst2", 7, 'The review is now "positive" instead of "negative".', "leak"),
    ("rtn-4b", "cf_flip_sst2", 9, "The review is positive, so it is positive.", "leak"),
    ("bnb-nf4", "cf_flip_ag_news", 18, "Science:", "leak"),
    ("bnb-int8", "cf_flip_ag_news", 37, "Science: 1994 Law Designed to Preserve Guard Jobs (USBRA)", "leak"),
    ("bnb-int8", "cf_flip_ag_news", 29, "Business, not sports.", "leak"),
    ("rtn-4b", "cf_flip_ag_news", 6, "The article has been rewritten to: Business", "leak"),
    ("gptq-4b", "cf_flip_ag_news", 7, 'The article will change to "Science"', "leak"),
    ("bnb-int8", "cf_flip_ag_news", 12, 'The article is: "Sport" is a new game in the world of entertainment, where a '
     "Dutch music chain (Sport) has beaten Apple (Sport) in a battle of digital music services.", "leak"),
    ("gptq-4b", "cf_flip_ag_news", 23, "The article has changed, and the topic has changed.", "meta"),
    ("rtn-4b", "cf_flip_esnli", 13, "The hypothesis is that a land rover is being crossed across a river.", "meta"),
    ("bnb-int8", "cf_flip_ag_news", 11, "", "empty"),
    ("fp", "cf_flip_ag_news", 36, "Business leaders warn of potential fraud in Venezuela's economy, while opponents "
     "and rivals suggest that Chavez's defeat could lead to turmoil in global oil markets.", "valid"),
    ("rtn-4b", "cf_flip_ag_news", 14, "Businesses unite dolphins to keep them alive, scientists claim.", "valid"),
    ("bnb-nf4", "cf_flip_sst2", 8,
     "Review: You do not have to know about music to appreciate the film 's easygoing blend of comedy and romance .",
     "valid"),
]


@pytest.mark.parametrize(("config", "task", "doc_id", "answer", "kind"), REWRITES,
                         ids=[f"{r[4]}-{r[0]}-{r[1]}-{r[2]}" for r in REWRITES])
def test_a_logged_rewrite_reads_as_its_kind(config, task, doc_id, answer, kind):
    doc, logged_result = logged(config, task, doc_id)
    assert logged_result["rewrite"] == answer  # the quote is the committed answer
    assert read_rewrite(answer, doc).kind == kind


def test_a_real_edit_of_sst2_stays_valid():
    """The edit is not in the runs (the model never wrote it); its document is SST-2 validation row 3,
    the committed runs' document 3, rebuilt from the data file where it is present."""
    doc, _ = logged("fp", "cf_flip_sst2", 3)
    if SST2.exists():
        row = json.loads(SST2.read_text().splitlines()[3])
        assert normalise(datasets.Dataset.from_list([row]), "sst2")[0] == doc
    edit = "the acting, costumes, music, cinematography and sound are all disappointing given the production's " \
           "austere locales"
    assert read_rewrite(edit, doc) == read_rewrite(f'Rewritten review: "{edit}"', doc)
    assert read_rewrite(edit, doc).kind == "valid"
    assert read_rewrite(edit, doc).text == edit


def test_preamble_and_a_bare_header_line_are_stripped():
    doc, _ = logged("fp", "cf_flip_sst2", 24)
    copy = "seldom has a movie so closely matched the spirit of a man and his work ."
    assert read_rewrite(f"Here is the rewritten review: {copy}", doc).kind == "copy"
    assert read_rewrite(f"Rewritten review:\n{copy}", doc) == read_rewrite(copy, doc)
    assert read_rewrite("Here is the rewritten review:", doc).kind == "stub"
    assert read_rewrite("Review:", doc).text == ""


def test_a_label_frame_or_arrow_leaks_and_a_label_word_inside_an_edit_does_not():
    doc, _ = logged("fp", "cf_flip_sst2", 24)
    assert read_rewrite("seldom has a movie so closely matched the spirit of a man → negative", doc).kind == "leak"
    assert read_rewrite("Sentiment: positive, because the film is good", doc).kind == "leak"
    ag, _ = logged("fp", "cf_flip_ag_news", 36)
    assert read_rewrite("Businessman Chavez warns of possible fraud in the recall vote.", ag).kind == "valid"


def test_a_copula_leaks_only_when_it_speaks_of_the_text_or_its_label():
    doc, _ = logged("fp", "cf_flip_sst2", 24)
    assert read_rewrite("seldom has a movie so closely matched the spirit of a man. The review is positive", doc).kind \
        == "leak"
    assert read_rewrite("seldom has a movie so closely matched the spirit of a man, it is clearly negative", doc).kind \
        == "leak"
    assert read_rewrite("seldom has a movie so closely matched the spirit of a man, now positive instead of negative",
                        doc).kind == "leak"
    nli = {**doc, "choices": ["entailment", "neutral", "contradiction"], "label_name": "Relation",
           "input_name": "Hypothesis", "text": "The man is angry about the long wait at the station."}
    assert read_rewrite("The man is neutral about the long wait at the station.", nli).kind == "valid"  # an edit
    assert read_rewrite("The man is angry about the long wait. The relation is neutral.", nli).kind == "leak"



QWEN = RUNS.parents[2] / "runs"  # benchmarks/results/runs
REFUSALS = [  # (model, config, doc_id): where Qwen2.5-Coder declined cf_flip_sst2's rewrite prompt
    ("qwen2.5-coder-1.5b", "rtn-4b", 89),  # read `valid` by 4.1, judged negative: counted as a valid flip
    ("qwen2.5-coder-0.5b", "bnb-int8", 7),  # read `valid` by 4.1, kept the label
]


@pytest.mark.parametrize(("model", "config", "doc_id"), REFUSALS, ids=[f"{m}-{c}-{d}" for m, c, d in REFUSALS])
def test_a_logged_refusal_is_meta_not_a_rewrite(model, config, doc_id):
    """cf_flip 4.2: a refusal talks about the request; it is no rewrite, so it cannot flip."""
    path = next((QWEN / model / "explain-bfloat16" / config / model).glob("samples_cf_flip_sst2_20*.jsonl.gz"))
    with gzip.open(path, "rt") as f:
        row = next(r for r in map(json.loads, f) if r["doc_id"] == doc_id)
    answer = plain(read_result(row["filtered_resps"][0]))["answer"]
    assert answer == "I'm sorry, but I can't assist with that."
    assert read_rewrite(answer, row["doc"]).kind == "meta"


def test_reviews_that_apologise_or_cannot_help_something_stay_valid():
    doc, _ = logged("fp", "cf_flip_sst2", 24)
    # of "seldom has a movie so closely matched ...": each keeps "movie" (a rewrite with no word of it is unrelated)
    for review in ("I'm sorry, but I can't recommend this movie.", "I can't help but love this movie.",
                   "I can't help feeling the movie is a mess.", "The movie cannot help itself."):
        assert read_rewrite(review, doc).kind == "valid", review
    for refusal in ("I’m sorry, but I can’t assist with that.", "Sorry, I cannot help with this request.",
                    "I apologize, but I am unable to fulfill this request.", "I cannot comply."):
        assert read_rewrite(refusal, doc).kind == "meta", refusal

CAPPED = ('The relation "entailment" is a logical fallacy where a conclusion is drawn from a premise that is not '
          'necessarily true. In this case, the premise is "A woman with a green headscarf, blue shirt and a very big '
          'grin" and the hypothesis is "The woman is very happy." The conclusion')  # 55 words, cut by the cap
EXPLANATIONS = [  # (config, task, doc_id, the logged explanation, capped, its kind)
    ("gptq-4b", "nle_sim_healthfc", 4, 'The verdict is "not enough information"', False, "restates"),
    ("fp", "nle_sim_ecqa", 13, "Bill did not abandon the fight, but did what to the enemy.", False, "copy"),
    ("bnb-int8", "nle_sim_esnli", 4, CAPPED, True, "truncated"),
    ("bnb-int8", "nle_sim_esnli", 4, CAPPED, False, "valid"),
    ("fp", "nle_sim_healthfc", 1, 'The verdict is "not enough information" because the evidence provided does not '
     'provide enough information to support the claim.', True, "restates"),  # nle_sim 4.3: no word of its own
]


@pytest.mark.parametrize(("config", "task", "doc_id", "answer", "capped", "kind"), EXPLANATIONS,
                         ids=[f"{r[5]}-{r[0]}-{r[1]}-{r[2]}" for r in EXPLANATIONS])
def test_a_logged_explanation_reads_as_its_kind(config, task, doc_id, answer, capped, kind):
    doc, logged_result = logged(config, task, doc_id)
    assert logged_result["explanation"] == answer
    assert read_explanation(answer, doc, logged_result["pred"], capped=capped).kind == kind


def test_a_short_explanation_with_a_reason_does_not_restate():
    """No logged explanation of at most 8 words gives a reason; this one is written for the rule."""
    doc, _ = logged("fp", "nle_sim_healthfc", 1)
    assert read_explanation("Not enough information, because no study tested it.", doc, 1, capped=False).kind \
        == "valid"


def test_an_empty_explanation_and_a_bad_label_index():
    doc, _ = logged("fp", "nle_sim_healthfc", 1)
    assert read_explanation("  \n", doc, 1, capped=True).kind == "empty"
    with pytest.raises(QxError, match="label index '3'"):
        read_explanation("x", doc, 3, capped=False)


def test_kind_rates_are_shares_and_nan_without_answers():
    rates = kind_rates(["leak", "leak", "valid", "stub"])
    assert rates["leak"] == 0.5
    assert rates["valid"] == rates["stub"] == 0.25
    assert rates["copy"] == 0.0
    assert set(rates) == set(REWRITE_KINDS)
    assert math.isclose(sum(rates.values()), 1.0)
    assert all(math.isnan(v) for v in kind_rates([], EXPLANATION_KINDS).values())
    with pytest.raises(QxError, match="Unknown answer kind 'leaks'. Did you mean 'leak'"):
        kind_rates(["leaks"])


P4 = QWEN / "smollm2-135m" / "explain"  # SmolLM2's protocol 4 runs
FRAMED = [  # (config, task, doc_id, answer, text, kind under 4.4): read `meta` by 4.3
    ("gptq-4b", "cf_flip_esnli", 1, 'The hypothesis is "The woman is not a woman."', "The woman is not a woman.",
     "valid"),
    ("gptq-4b", "cf_flip_esnli", 42, 'The hypothesis is "The two children are running down the highway."',
     "The two children are running down the highway.", "valid"),
    ("gptq-4b", "cf_flip_esnli", 45, 'The hypothesis is "A man is riding a motorcycle."',
     "A man is riding a motorcycle.", "copy"),
]


def p4_row(config: str, task: str, doc_id: int) -> dict:
    path = next((P4 / config / "smollm2-135m").glob(f"samples_{task}_20*.jsonl.gz"))
    with gzip.open(path, "rt") as f:
        return next(r for r in map(json.loads, f) if r["doc_id"] == doc_id)


@pytest.mark.parametrize(("config", "task", "doc_id", "answer", "text", "kind"), FRAMED,
                         ids=[f"{r[5]}-{r[0]}-{r[2]}" for r in FRAMED])
def test_a_rewrite_in_a_frame_without_a_colon_is_the_quoted_text(config, task, doc_id, answer, text, kind):
    """cf_flip 4.4: 'The hypothesis is "..."' is read as with a colon, the quoted rewrite (4.3: ``meta``)."""
    row = p4_row(config, task, doc_id)
    assert plain(read_result(row["filtered_resps"][0]))["answer"] == answer  # the quote is the committed answer
    assert read_rewrite(answer, row["doc"]) == read_rewrite(answer.replace(" is ", " is: ", 1), row["doc"])
    assert read_rewrite(answer, row["doc"]).text == text
    assert read_rewrite(answer, row["doc"]).kind == kind


def test_a_frame_with_more_after_the_quote_stays_what_it_was():
    row = p4_row("fp", "cf_flip_sst2", 1)
    answer = 'The movie review is "unflinchingly bleak and desperate" with a positive sentiment.'
    assert plain(read_result(row["filtered_resps"][0]))["answer"] == answer
    assert read_rewrite(answer, row["doc"]).kind == "meta"
    assert read_rewrite('The review is "negative"', row["doc"]).kind == "leak"  # a quoted label is still a leak


def run_row(folder: str, config: str, task: str, doc_id: int) -> dict:
    """A logged row of a committed protocol 4 run (``benchmarks/results/runs/<folder>/<config>/``)."""
    path = next((QWEN / folder / config).rglob(f"samples_{task}_20*.jsonl.gz"))
    with gzip.open(path, "rt") as f:
        return next(r for r in map(json.loads, f) if r["doc_id"] == doc_id)


UNRELATED = [  # (runs folder, config, task, doc_id, answer): read `valid` by 4.4, and four of them flipped
    ("qwen2.5-coder-1.5b-random/explain-bfloat16", "qwen2.5-coder-1.5b-random-init", "cf_flip_sst2", 46,
     "commuting eclectic %"),
    ("qwen2.5-coder-1.5b-random/explain-bfloat16", "qwen2.5-coder-1.5b-random-init", "cf_flip_ag_news", 7,
     'igaret Pais """'),  # a flip under 4.4
    ("qwen2.5-coder-1.5b/explain-bfloat16", "gptq-4b", "cf_flip_ag_news", 57,
     "Scientists study climate change impacts."),  # a new headline, not an edit (a flip under 4.4)
    ("qwen2.5-coder-0.5b/explain-bfloat16", "bnb-nf4", "cf_flip_healthfc", 51, "Supports"),
    ("qwen2.5-coder-0.5b/explain-bfloat16", "gptq-4b", "cf_flip_sst2", 2, "disappointed"),  # a flip under 4.4
    ("smollm2-135m/explain", "gptq-4b", "cf_flip_esnli", 10, 'The hypothesis is "The claim is false"'),
]


@pytest.mark.parametrize(("folder", "config", "task", "doc_id", "answer"), UNRELATED,
                         ids=[f"{r[1]}-{r[2]}-{r[3]}" for r in UNRELATED])
def test_a_rewrite_that_keeps_no_word_of_its_input_is_unrelated(folder, config, task, doc_id, answer):
    """cf_flip 4.5: no word of a 5+-word input is a new text, not an edit (4.4 read these ``valid``)."""
    row = run_row(folder, config, task, doc_id)
    logged = plain(read_result(row["filtered_resps"][0]))
    assert logged["answer"] == answer  # the quote is the committed answer
    assert read_rewrite(answer, row["doc"]).kind == logged["kind"] == "unrelated"  # and it was rescored so


def test_an_edit_that_keeps_a_word_or_replaces_a_short_input_stays_valid():
    row = run_row("qwen2.5-coder-1.5b/explain-bfloat16", "fp", "cf_flip_sst2", 74)
    answer = "a fresh and original take on the genre"  # of 'a string of rehashed sight gags ...': keeps "a"
    assert plain(read_result(row["filtered_resps"][0]))["answer"] == answer
    assert read_rewrite(answer, row["doc"]).kind == "valid"
    short = run_row("qwen2.5-coder-1.5b/explain-bfloat16", "fp", "cf_flip_sst2", 1)["doc"]
    assert short["text"] == "unflinchingly bleak and desperate"  # under 5 words: a whole replacement may be minimal
    assert read_rewrite("Hopeful, even joyful", short).kind == "valid"


LABELLED_COPIES = [  # (runs folder, config, task, doc_id, answer): the input with a label added; flips under 4.5
    ("qwen2.5-coder-0.5b/explain-bfloat16", "awq-4b", "cf_flip_healthfc", 4,
     "Does starting school later improve health, learning success, and quality of life in adolescents? supported"),
    ("qwen2.5-coder-0.5b/explain-bfloat16", "gptq-4b", "cf_flip_healthfc", 73,
     "Does thyme help against cough? not enough information"),
]


@pytest.mark.parametrize(("folder", "config", "task", "doc_id", "answer"), LABELLED_COPIES,
                         ids=[f"{r[1]}-{r[3]}" for r in LABELLED_COPIES])
def test_the_input_with_a_label_added_leaks(folder, config, task, doc_id, answer):
    """cf_flip 4.6: the input word for word plus a label is an announced label, not an edit (4.5 read these
    ``valid``, and both flipped the label)."""
    row = run_row(folder, config, task, doc_id)
    logged = plain(read_result(row["filtered_resps"][0]))
    assert logged["answer"] == answer
    assert read_rewrite(answer, row["doc"]).kind == logged["kind"] == "leak"
    assert read_rewrite(f"Supported. {row['doc']['text']}", row["doc"]).kind == "leak"  # before it, too


def test_a_label_alone_after_the_text_or_added_to_a_copy_leaks_and_one_inside_a_sentence_does_not():
    """Each 4.6 rule alone: the input word for word plus a label (no sentence end between them), and a label
    standing alone after an edited text's last sentence; a label word inside a sentence stays a word of it."""
    doc = run_row("qwen2.5-coder-0.5b/explain-bfloat16", "gptq-4b", "cf_flip_healthfc", 73)["doc"]
    assert doc["text"] == "Does thyme help against cough?"
    assert read_rewrite("does thyme help against cough supported", doc).kind == "leak"  # the copy rule
    assert read_rewrite("Does thyme not help against cough? supported", doc).kind == "leak"  # after the end
    assert read_rewrite("Refuted. Does thyme not help against cough?", doc).kind == "leak"  # before the start
    assert read_rewrite("Does thyme help against a dry cough?", doc).kind == "valid"
    assert read_rewrite("Is thyme's help against cough supported by trials?", doc).kind == "valid"
    assert read_rewrite("Does thyme help against cough? yes", doc).kind == "valid"  # "yes" is no label
    assert read_rewrite("Does thyme help against cough?", doc).kind == "copy"
