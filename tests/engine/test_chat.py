"""Probe prompts under --apply_chat_template / --system_instruction, and answers cut at the first
line break after non-blank text (a chat model's leading newline no longer empties them)."""

from __future__ import annotations

import pytest

from qxbench.engine.chat import Chat, cut_answer, of
from qxbench.errors import QxError


def test_cut_answer_keeps_the_first_non_blank_line():
    assert cut_answer("\nThe bath was clean.\nReview: next") == "The bath was clean."
    assert cut_answer("\n\n  Paris is the capital.  ") == "Paris is the capital."
    assert cut_answer(" Paris\n") == "Paris"
    assert cut_answer("\n \n") == ""  # nothing but whitespace: empty, counted as such by the probes


def test_plain_prompts_are_unchanged_and_a_system_instruction_is_prepended():
    assert Chat().formatter(object())("Review: x\nSentiment:") == "Review: x\nSentiment:"
    assert Chat(system="Be brief.").formatter(object())("Q") == "Be brief.\n\nQ"


def test_requests_carry_the_settings_and_default_to_none():
    class Req:
        chat = Chat(True, "sys")

    assert of([Req()]) == Chat(True, "sys")
    assert of([object()]) == Chat()
    assert of([]) == Chat()


def test_a_model_without_a_chat_template_is_one_line_from_the_task_too():
    from qxbench.lmeval.adapter import QXLM
    from tests.lm_eval_tasks.conftest import evaluate

    lm = QXLM(device="cpu", batch_size=8, reference="none")
    with pytest.raises(QxError, match="has no chat template; run without --apply_chat_template"):
        Chat(apply=True).formatter(lm)
    with pytest.raises(QxError, match="has no chat template"):
        evaluate(lm, ["cf_flip"], limit=1, apply_chat_template=True)


@pytest.mark.real
def test_chat_model_prompts_go_through_its_template(smollm2_dir):
    from qxbench.lmeval.adapter import QXLM

    lm = QXLM(pretrained="smollm2-135m", device="cpu", batch_size=4, reference="none")
    text = Chat(True, "You are terse.").formatter(lm)("The capital of France is")
    assert text.startswith("<|im_start|>system\nYou are terse.<|im_end|>")
    assert text.endswith("<|im_start|>user\nThe capital of France is<|im_end|>\n<|im_start|>assistant\n")
    from qxbench.engine.generate import generate

    (answer,) = generate(lm, ["What is the capital of France? Answer in one word."], 16, chat=Chat(True))
    assert "Paris" in answer
    assert "\n" not in answer


@pytest.mark.real
def test_the_gemma_base_model_gets_plain_prompts_and_one_line_for_a_chat_template(gemma3_dir):
    from transformers import AutoTokenizer

    class LM:
        tokenizer = AutoTokenizer.from_pretrained(gemma3_dir)

    assert Chat().formatter(LM())("The capital of France is") == "The capital of France is"
    with pytest.raises(QxError, match=r"^--apply_chat_template was given but the tokenizer of '.*gemma3-270m-1\.0\.0' "
                                      r"has no chat template; run without --apply_chat_template$"):
        Chat(apply=True).formatter(LM())
