"""benchmarks/studies/soup_rule.py: the candidate rule for answers that are not language, on answers
quoted from the committed runs (the 0.5B's random-init floor and the real Qwen runs)."""

from __future__ import annotations

import pytest

from benchmarks.studies.soup_rule import code_share, main, non_latin_share, soup, words

REVIEW = "the mesmerizing performances of the leads keep the film grounded and keep the audience riveted ."


def doc_words(*texts: str) -> set[str]:
    return {w for t in texts for w in words(t)}


@pytest.mark.parametrize("answer", [
    "hipster condemfinding-piece嚣ложения洗礼 Franz Ledger是不是 **",  # the floor's SST-2 rewrite of document 1
    "Swap Де웝 podr?",  # its AG News rewrite of document 34; both read `valid` by the reader
])
def test_token_soup_in_many_scripts_is_flagged_by_its_letters(answer):
    assert non_latin_share(answer) > 0.2
    assert code_share(answer) < 0.5 and len(words(answer)) < 10  # neither other clause sees them
    assert soup(answer, doc_words("it 's a charming and often affecting journey ."))


def test_latin_token_soup_is_flagged_by_its_words():
    answer = ("hipster condemPEnd Compiled_retry pakistanSiteCG Surrey.Keyword organisation嚣hipster bas "
              "Compiled_IMAGE أع receipt Deutschland直观P Compiled_catalog三角 Compiled_catalog")  # floor, SST-2 doc 6
    assert non_latin_share(answer) <= 0.2
    assert soup(answer, doc_words(REVIEW))


@pytest.mark.parametrize("answer", ["HashCodemaid )]", "_deck(())", "/find?"])  # floor AG News rewrites, read `valid`
def test_short_code_like_fragments_are_flagged_by_their_tokens(answer):
    assert not words(answer) or len(words(answer)) < 10  # the word clause cannot see them
    assert soup(answer, doc_words("Prediction Unit Helps Forecast Wildfires (AP) AP - It's barely dawn"))


@pytest.mark.parametrize("answer, document", [
    ("the disappointing performances of the leads leave the film feeling unengaging and unimpressive.", REVIEW),
    ("disappointed", REVIEW),  # a one-word rewrite of a whole review: poor, but language
    ("Apple's iPhone 12 Pro Max Launches with 5G Support", "Google's search engine launches a new toolbar"),
    ("The premise and hypothesis describe different scenarios involving a choir singing at different "
     "locations (a church and a baseball game).", "A choir singing at a baseball game."),
    ("Prediction Unit Helps Forecast Wildfires (AP)", "Prediction Unit Helps Forecast Wildfires (AP) AP - It's"),
    ("", REVIEW),
])
def test_real_answers_are_not_flagged(answer, document):
    assert not soup(answer, doc_words(document))


def test_a_long_headline_of_new_words_is_flagged_the_rules_known_limit():
    """The second clause: ten or more words, almost no function words and few of the document's words. A
    long headline of new words meets it too; none of the 6,300 committed answers is one, but this is why the
    rule is measured here before it becomes a reader kind."""
    content = "Quarterly Revenue Soars Amid Strong Demand For Cloud Services Across Asian Markets Today"
    assert soup(content, doc_words("Oil prices fall as supply worries ease"))
    assert not soup(content, doc_words(content))  # the same words as the document: an edit, not soup


def test_runs_that_are_not_a_folder_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--runs", str(tmp_path / "absent"), "--out", str(tmp_path / "out.json")])
    assert stop.value.code == 2
    assert "is not a folder" in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()
