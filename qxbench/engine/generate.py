"""Greedy answers to a batch of prompts through an lm-eval ``HFLM`` (the ``qx`` model): its tokenizer, batch
encoding and weights, decoded by :func:`qxbench.engine.greedy.stream`; each prompt formatted as the run's
chat settings say (:class:`~qxbench.engine.chat.Chat`) and each answer cut at its first line end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qxbench import progress
from qxbench.engine import greedy
from qxbench.engine.chat import Chat, cut_answer
from qxbench.engine.forward import rows_per_batch
from qxbench.engine.lm import GeneratingLM


class _Capped:
    """A stop rule that also stops row ``r`` after ``caps[r]`` tokens."""

    def __init__(self, stop: Any, caps: Sequence[int]) -> None:
        self.stop, self.caps, self.count = stop, list(caps), [0] * len(caps)

    def __call__(self, row: int, token: int) -> bool:
        self.count[row] += 1
        return bool(self.stop(row, token)) or self.count[row] >= self.caps[row]


@dataclass(frozen=True)
class Generated:
    """One greedy answer: ``text`` cut at the first line break after non-blank text; ``capped``: generation
    stopped at its token cap, before a line end or the end-of-turn token."""

    text: str
    capped: bool


class _Ended:
    """A stop rule that records the rows it stopped (a row it never stopped ran into its token cap)."""

    def __init__(self, stop: Any, rows: int) -> None:
        self.stop, self.ended = stop, [False] * rows

    def __call__(self, row: int, token: int) -> bool:
        done = bool(self.stop(row, token))
        self.ended[row] = self.ended[row] or done
        return done


def generate_answers(lm: GeneratingLM, prompts: Sequence[str], max_tokens: int, title: str = "generate",
                     unit: str = "doc", caps: Sequence[int] | None = None, chat: Chat = Chat()) -> list[Generated]:
    """Greedy answers, each cut at the first line break after non-blank text (:func:`chat.cut_answer`),
    at most the model's batch size decoding at once (:func:`greedy.stream`: a stopped row's place goes
    to the next prompt); the prompts are formatted as ``chat`` says (the chat template under
    ``--apply_chat_template``) and taken shortest first (less padding; answers come back in order);
    their common beginning (the chat header, the instruction) runs once. ``caps``: a smaller token cap
    per prompt. One progress bar, ``title``, counts prompts in ``unit``s. Each answer says whether its
    row ran into its cap (``max_tokens`` or its ``caps`` entry) without a line end or an end of turn."""
    fmt = chat.formatter(lm)
    size = rows_per_batch(lm)
    eos = getattr(lm.tokenizer, "eos_token_id", None)
    texts = [fmt(p) for p in prompts]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    tokens = _encoded(lm, [texts[i] for i in order], max_tokens, size)
    ended = _Ended(greedy.LineEnd(lm.tokenizer, len(order), eos), len(order))
    stop: Any = ended if caps is None else _Capped(ended, [min(max_tokens, caps[i]) for i in order])
    pad = getattr(lm.tokenizer, "pad_token_id", None) or 0  # masked either way
    with progress.phase(title, len(prompts), unit) as bar:
        rows = greedy.stream(lm.model, tokens, max_tokens, stop, size, pad, done=lambda _: bar.advance(1))
    out: list[Generated] = [Generated("", False)] * len(texts)
    for j, (i, text) in enumerate(zip(order, greedy.decode(lm.tokenizer, rows), strict=True)):
        out[i] = Generated(cut_answer(text), not ended.ended[j])
    return out


def _encoded(lm: GeneratingLM, texts: Sequence[str], max_tokens: int, size: int) -> list[list[int]]:
    """Each text's tokens as the model's batch encoding gives them (``tok_batch_encode``, left-truncated to
    leave ``max_tokens`` of the context), without the padding."""
    out: list[list[int]] = []
    for start in range(0, len(texts), size):
        ids, mask = lm.tok_batch_encode(list(texts[start:start + size]), left_truncate_len=lm.max_length - max_tokens)
        out += [row[m.bool()].tolist() for row, m in zip(ids, mask, strict=True)]
    return out


def generate(lm: GeneratingLM, prompts: Sequence[str], max_tokens: int, title: str = "generate",
             unit: str = "doc", caps: Sequence[int] | None = None, chat: Chat = Chat()) -> list[str]:
    """The texts of :func:`generate_answers`."""
    return [g.text for g in generate_answers(lm, prompts, max_tokens, title, unit, caps, chat)]
