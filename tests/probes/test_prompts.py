"""The explainability probes' prompt sets: instruct-1's parts and demonstrations, the fixed part named only
where a document has one, completion-0 ignoring demonstrations. The prompts' wording on e-SNLI and the
completion templates: tests/data/test_classify.py."""

from __future__ import annotations

import pytest

from qxbench.data.classify import sst2
from qxbench.errors import QxError
from qxbench.probes.prompts import PromptSet, prompt_set

REVIEW = sst2({"sentence": "A fine film.", "label": 1})
DEMO = {**sst2({"sentence": "A dull plot.", "label": 0}), "explanations": ["Dull is negative."]}


def test_instruct_1_asks_for_the_label_only_and_states_the_task_and_labels():
    prompt = PromptSet("instruct-1").classify(REVIEW)
    assert prompt == ('Classify the sentiment of the movie review. The labels are: "negative", "positive".\n\n'
                      "Review: A fine film.\nAnswer with the label only.\nSentiment:")
    assert "Review: Another film.\n" in PromptSet("instruct-1").classify(REVIEW, "Another film."), \
        "the text given does not replace the document's"


def test_instruct_1_puts_its_last_line_in_a_turn_of_its_own_and_completion_0_has_none():
    user, cue = PromptSet("instruct-1").classify_parts(REVIEW)
    assert cue == "Sentiment:"
    assert f"{user}\n{cue}" == PromptSet("instruct-1").classify(REVIEW), "the parts are not the whole prompt"
    old = PromptSet("completion-0")
    assert old.classify_parts(REVIEW) == (old.classify(REVIEW), None)


def test_a_document_without_a_fixed_part_is_rewritten_whole():
    ask = PromptSet("instruct-1").rewrite(REVIEW, 1, 0)
    assert "Keep the" not in ask, "a one-part document is told to keep a part it does not have"
    assert 'so that the sentiment becomes "negative" instead of "positive"' in ask
    assert ask.endswith("Answer with the rewritten review only, on one line.\nRewritten review:")


def test_demonstrations_come_first_with_explanations_only_where_one_is_asked_for():
    shown = PromptSet("instruct-1", (DEMO,))
    examples = "Examples:\n\nReview: A dull plot.\nSentiment: negative"
    assert f"{examples}\n\nNow this one:\n\nReview: A fine film." in shown.classify(REVIEW)
    assert f"{examples}\nExplanation: Dull is negative.\n\nNow this one:" in shown.explain(REVIEW, 1)
    plain = PromptSet("instruct-1", ({**DEMO, "explanations": []},)).explain(REVIEW, 1)
    assert f"{examples}\n\nNow this one:" in plain, "a demonstration without an explanation shows an empty one"
    assert PromptSet("completion-0", (DEMO,)).classify(REVIEW) == PromptSet("completion-0").classify(REVIEW), \
        "completion-0 shows demonstrations"


def test_a_prompt_set_by_name_and_an_unknown_name_lists_the_sets():
    assert prompt_set("completion-0", [DEMO]) == PromptSet("completion-0", (DEMO,))
    with pytest.raises(QxError, match=r"^Unknown prompt set 'instruct-2'\. Did you mean 'instruct-1'\? "
                                      r"Available: completion-0, instruct-1$"):
        PromptSet("instruct-2")
