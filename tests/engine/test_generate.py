"""Greedy answers through an lm-eval HFLM (qxbench.engine.generate): token caps and where an answer ends."""

from __future__ import annotations

import torch

from qxbench.engine import generate


def test_a_capped_row_stops_at_its_cap_and_the_others_at_their_rule():
    from qxbench.engine.generate import _Capped

    stop = _Capped(lambda row, token: token == 0, [2, 5])
    assert [stop(0, 7), stop(0, 7)] == [False, True]  # row 0: its cap of 2 tokens
    assert [stop(1, 7), stop(1, 0)] == [False, True]  # row 1: its own rule first


class Letters:
    """A tokenizer of one token per character for a tiny model: every token decodes to ``piece``."""

    eos_token_id = None

    def __init__(self, piece: str) -> None:
        self.piece = piece

    def decode(self, ids, skip_special_tokens=True):
        return self.piece * len(ids)

    def batch_decode(self, rows, skip_special_tokens=True):
        return [self.decode(r) for r in rows]


class TinyLM:
    device, max_length, batch_size = "cpu", 64, 2

    def __init__(self, model, piece: str) -> None:
        self.model, self.tokenizer = model, Letters(piece)

    def tok_batch_encode(self, texts, left_truncate_len=None):
        rows = [[1 + ord(c) % 60 for c in t][-8:] for t in texts]
        width = max(map(len, rows))
        ids = torch.tensor([[0] * (width - len(r)) + r for r in rows])
        return ids, (ids != 0).long()


def test_generate_answers_says_which_rows_ran_into_their_token_cap(tiny_llama):
    ended = generate.generate_answers(TinyLM(tiny_llama, "a\n"), ["one", "two prompts"], 5)
    assert [g.capped for g in ended] == [False, False]
    assert [g.text for g in ended] == ["a", "a"]  # a line end
    running = generate.generate_answers(TinyLM(tiny_llama, "a"), ["one", "two prompts"], 5, caps=[2, 9])
    assert [g.capped for g in running] == [True, True]
    assert [g.text for g in running] == ["aa", "aaaaa"]
