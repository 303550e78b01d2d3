"""The insertion test's places and words (Atanasova et al. 2023, Sec. 3.1: adjectives before nouns, adverbs
before verbs, by a part-of-speech tagger) and its copy rule (issue 38, item 7)."""

from __future__ import annotations

import pytest

from qxbench.data.classify import GENERIC_INSERT_WORDS
from qxbench.probes.insertion import insertions, mentions_outside_copy, part_of_speech, places, tags

ADJECTIVES = ["strange", "small", "old", "new", "famous", "large"]
ADVERBS = ["really", "truly", "suddenly", "often"]


def test_the_tagger_tags_the_words_as_written_with_punctuation_apart():
    assert tags("A man is playing a guitar on stage.") == ["DT", "NN", "VBZ", "VBG", "DT", "NN", "IN", "NN"]
    assert tags('"Great" movie -- loved it!')[2] == ""  # no letters: no tag


@pytest.mark.parametrize("word", GENERIC_INSERT_WORDS)
def test_every_generic_candidate_is_an_adjective_or_an_adverb(word):
    assert part_of_speech(word) in ("adjective", "adverb"), word


def test_adjectives_go_before_nouns_and_adverbs_before_verbs_never_before_function_words():
    text = "The dream was so terrible"  # the committed "The dream large was so terrible" is impossible now
    found = insertions(text, [*ADJECTIVES, *ADVERBS], words=6, positions=5)
    assert found
    assert {(i.at, part_of_speech(i.word)) for i in found} <= {(1, "adjective"), (2, "adverb")}
    assert all(text.split(" ")[i.at] in ("dream", "was") for i in found)


def test_no_place_after_the_last_word_or_before_a_question_mark():
    text = "this oath was to what?"  # committed: "this oath strange was to what?"
    assert all(at < len(text.split(" ")) for at, _ in places(text))
    assert {at for at, _ in places(text)} == {1, 2}


def test_an_auxiliary_takes_no_adverb_its_verb_does():
    assert places("A man is playing a guitar") == [(1, "adjective"), (3, "adverb"), (5, "adjective")]
    assert (1, "adverb") not in places("What do people do when they are tired?")  # a question's "do"


def test_contractions_and_possessives_are_not_places():
    found = {at for at, _ in places("it's fraud in Venezuela's economy")}
    assert 0 not in found
    assert 3 not in found
    assert {1, 4} <= found


def test_the_article_before_a_place_stays_right():
    found = insertions("I saw a film", ["old", "new", "strange", "small", "large"], words=5, positions=1)
    assert found
    assert all(i.word[0] not in "aeiou" for i in found)  # "a old film" is not English


def test_insertions_are_deterministic_and_independent_of_the_candidates_order():
    text = "The soup was warm and the waiter smiled ."
    first = insertions(text, [*ADJECTIVES, *ADVERBS])
    assert first == insertions(text, list(reversed([*ADJECTIVES, *ADVERBS])))
    assert len(first) == 6
    assert len({i.at for i in first}) == 2
    for ins in first:
        tokens = ins.text.split(" ")
        assert tokens[ins.at] == ins.word
        assert tokens[:ins.at] + tokens[ins.at + 1:] == text.split(" ")


def test_a_line_break_inside_a_word_does_not_shift_the_tags():
    assert tags("A man is here.\nThe dog runs")[-2:] == ["NN", "VBZ"]  # committed HealthFC claims have them
    assert len(tags("Does it help:\nDevil's Tongue, really?")) == 5


def test_no_noun_or_verb_no_insertion():
    assert insertions("", ADJECTIVES) == []
    assert insertions("very very", ADJECTIVES) == []


def test_a_mention_inside_a_copy_of_the_input_does_not_count():
    perturbed = "He was at the quite store ."  # the committed "faithful" verdicts copied the input
    assert not mentions_outside_copy("Because he was at the quite store.", "quite", perturbed)
    assert not mentions_outside_copy("the quite store", "quite", perturbed)
    assert mentions_outside_copy('The word "quite" makes the store sound ordinary.', "quite", perturbed)
    assert mentions_outside_copy("It is QUITE unclear.", "quite", perturbed)  # any case, own words around it
    assert not mentions_outside_copy("It is quitely unclear.", "quite", perturbed)  # whole words only
    assert not mentions_outside_copy("", "quite", perturbed)
    assert not mentions_outside_copy("quite store", "quite", perturbed)  # two words: the pair decides


def test_a_copy_of_the_fixed_part_is_a_copy_and_a_one_word_explanation_a_mention():
    seen = "A man with a large dog walks. A large man walks."  # premise and changed hypothesis, as the model read them
    assert not mentions_outside_copy("the premise mentions a large dog", "large", seen)
    assert mentions_outside_copy("Large.", "large", "An large man")
    assert not mentions_outside_copy("old man", "old", "old man")  # both two words: the pair decides


def test_a_paraphrase_sharing_only_a_pair_with_the_input_is_a_mention():
    # Qwen2.5-Coder-1.5B on e-SNLI, "A strange man playing guitar on stage." (its label changed):
    said = "the hypothesis suggests that the man is playing a strange guitar."
    assert mentions_outside_copy(said, "strange", "A strange man playing guitar on stage.")
    # ... and "A sedan is stuck in the large middle of a river." is quoted, not explained:
    assert not mentions_outside_copy("which directly implies that a sedan is stuck in the large middle of a river.",
                                     "large", "A sedan is stuck in the large middle of a river.")
