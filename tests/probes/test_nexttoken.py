"""The calib probe's answers on a tiny random Llama: the greedy next token and its probability, the answer
set's softmax (first choice on ties), correctness under each rule, results in request order. The reference
rule's cases and the options: tests/lm_eval_tasks/test_calib.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from qxbench.engine.chat import Chat
from qxbench.errors import QxError
from qxbench.probes import nexttoken
from qxbench.probes.nexttoken import NextTokenOptions
from qxbench.probes.typed import NextTokenRequest


class Numbers:
    """What the probe reads of a model: prompts are token ids written out ("5 9 3"), token t decodes to " wt"."""

    max_length = 64

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self.tokenizer = SimpleNamespace(decode=lambda token: f" w{token}")

    def _ids(self, prompt: str) -> list[int]:
        return self.tok_encode(prompt)

    def tok_encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return [int(word) for word in text.split()]

    def _probe_batch(self) -> int:
        return 2

    def _pad_id(self) -> int:
        return 0

    def _first_token(self, prompt: str, gold: str) -> int:
        return self.tok_encode(gold)[0]


class Uniform(torch.nn.Module):
    """Every next token equally likely (64 tokens)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask=None):
        return SimpleNamespace(logits=torch.zeros(*input_ids.shape, 64) + self.weight)


PROMPTS = ["5 9 3", "7", "11 2 30 31 6"]  # three lengths: batches run longest first, results come back in order


def _next_token(model, prompt: str) -> torch.Tensor:
    with torch.no_grad():
        return torch.softmax(model(torch.tensor([[int(w) for w in prompt.split()]])).logits[0, -1], -1)


def test_free_answers_the_greedy_token_with_its_probability_in_request_order(tiny_llama):
    lm = Numbers(tiny_llama)
    out = nexttoken.free(lm, PROMPTS, ["x"] * 3, NextTokenOptions())
    for prompt, answer in zip(PROMPTS, out, strict=True):
        probs = _next_token(tiny_llama, prompt)
        assert answer.token == int(probs.argmax()), prompt
        assert answer.prediction == f" w{answer.token}"
        assert answer.confidence == pytest.approx(float(probs.max()), abs=1e-6), prompt
    assert [a.options for a in out] == [{"mode": "free", "match": "substring", "softmax_dtype": "model"}] * 3


def test_free_correctness_follows_the_match_rule(tiny_llama):
    lm = Numbers(tiny_llama)
    token = int(_next_token(tiny_llama, PROMPTS[0]).argmax())
    substring = nexttoken.free(lm, PROMPTS[:1] * 2, [f" W{token} ", "x"], NextTokenOptions())
    assert substring[0].correct, "the substring rule does not compare stripped, lower-cased texts"
    assert not substring[1].correct
    other = (token + 1) % 64
    golds = [f"{token} 63", str(other)]  # a gold of two tokens: only its first is compared
    first = nexttoken.free(lm, PROMPTS[:1] * 2, golds, NextTokenOptions(match="first_token"))
    assert [a.correct for a in first] == [True, False], "first_token does not compare the token with the gold's first"


def test_choices_are_a_softmax_over_the_answer_set(tiny_llama):
    lm = Numbers(tiny_llama)
    (answer,) = nexttoken.choices(lm, PROMPTS[:1], ["9"], [["4", "9", "17"]])
    probs = _next_token(tiny_llama, PROMPTS[0])[[4, 9, 17]].double()
    assert answer.choice_probs == pytest.approx((probs / probs.sum()).tolist(), abs=1e-6)
    best = int(probs.argmax())
    assert answer.prediction == ["4", "9", "17"][best]
    assert answer.confidence == pytest.approx(answer.choice_probs[best])
    assert answer.correct == (best == 1)
    assert (answer.mode, answer.token, answer.options) == ("choices", None, {"mode": "choices"})


def test_a_tie_goes_to_the_first_choice_and_the_first_token():
    lm = Numbers(Uniform())
    (chosen,) = nexttoken.choices(lm, ["5 9"], ["7"], [["3", "7"]])
    assert chosen.prediction == "3", "a tie did not go to the first choice"
    assert chosen.confidence == pytest.approx(0.5)
    assert chosen.correct is False
    (free,) = nexttoken.free(lm, ["5 9"], ["w0"], NextTokenOptions())
    assert free.token == 0


def test_a_gold_outside_the_choices_is_one_line_naming_both(tiny_llama):
    with pytest.raises(QxError, match=r"^Gold answer '8' is not one of the choices \['3', '7'\] of '5 9'$"):
        nexttoken.choices(Numbers(tiny_llama), ["5 9"], ["8"], [["3", "7"]])


def test_answer_runs_the_requests_mode(tiny_llama):
    lm = Numbers(tiny_llama)
    assert nexttoken.answer(lm, []) == []

    def request(options: dict) -> NextTokenRequest:
        return NextTokenRequest("5 9 3", "7", ("3", "7"), NextTokenOptions.from_metadata(options), Chat())

    assert [a.mode for a in nexttoken.answer(lm, [request({})] * 2)] == ["free", "free"]
    assert [a.mode for a in nexttoken.answer(lm, [request({"mode": "choices"})])] == ["choices"]
