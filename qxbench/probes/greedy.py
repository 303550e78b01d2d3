"""Greedy decoding in which a row leaves the batch as soon as it has stopped.

``model.generate`` keeps every row of a batch until the last one stops: on the CPU a decoding step
costs a fixed part (reading every weight once) plus a part per row, and a batch of short answers
with one long one pays for all its rows at every step. Here each step runs only the rows still
going; their key/value cache rows are kept with ``Cache.batch_select_indices``. The inputs of each
step are those ``generate`` builds (left padding, position ids from the attention mask, a
``DynamicCache``, logits of the last position only, the float32 argmax), so a row's tokens are
``generate``'s (``tests/probes/test_greedy.py`` compares the two on the embedded model and SmolLM2).
Prompts that begin alike (one task's chat header and instruction) can run their common beginning
once (``prefix``, :func:`split_prefix`): the same tokens, tested on both models too.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import torch

from qxbench.probes.hooks import accepts_logits_to_keep

Stop = Callable[[int, int], bool]  # (row, its new token) -> whether the row stops after that token


def greedy(model: Any, ids: torch.Tensor, mask: torch.Tensor, max_tokens: int, stop: Stop,
           prefix: Sequence[int] = ()) -> list[list[int]]:
    """Each left-padded row's greedy continuation: at most ``max_tokens`` tokens, up to and including
    the token after which ``stop`` says the row stops. ``ids``/``mask``: [rows, prompt tokens].
    ``prefix``: tokens every row's prompt begins with, run once (one row) before ``ids``, which then
    hold each prompt's rest (its padding a masked hole after the prefix; :func:`split_prefix`)."""
    from transformers import DynamicCache

    out: list[list[int]] = [[] for _ in range(ids.shape[0])]
    if max_tokens < 1 or not len(out):
        return out
    accepts = inspect.signature(model.forward).parameters
    keep_arg = {"logits_to_keep": 1} if accepts_logits_to_keep(model) else {}
    cache = DynamicCache(config=model.config)
    rows = torch.arange(ids.shape[0], device=ids.device)
    mask = mask.long()
    position = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)
    step_ids = ids
    with torch.no_grad():
        if len(prefix):
            head = torch.tensor([list(prefix)], dtype=ids.dtype, device=ids.device)
            positions = {"position_ids": torch.arange(head.shape[1], device=ids.device)[None]} if (
                "position_ids" in accepts) else {}
            model(input_ids=head, attention_mask=torch.ones_like(head), past_key_values=cache, use_cache=True,
                  **positions, **keep_arg)
            cache.batch_select_indices(torch.zeros(len(rows), dtype=torch.long, device=ids.device))
            position = (position + head.shape[1]).masked_fill(mask == 0, 0)
            mask = torch.cat([mask.new_ones(len(rows), head.shape[1]), mask], 1)
        for _ in range(max_tokens):
            positions = {"position_ids": position} if "position_ids" in accepts else {}
            logits = model(input_ids=step_ids, attention_mask=mask, past_key_values=cache, use_cache=True,
                           **positions, **keep_arg).logits[:, -1]
            tokens = logits.to(torch.float32).argmax(-1)
            going = []
            for j, (row, token) in enumerate(zip(rows.tolist(), tokens.tolist(), strict=True)):
                out[row].append(token)
                if not stop(row, token) and len(out[row]) < max_tokens:
                    going.append(j)
            if not going:
                break
            if len(going) < len(rows):
                keep = torch.tensor(going, device=ids.device)
                cache.batch_select_indices(keep)
                rows, tokens, mask, position = rows[keep], tokens[keep], mask[keep], position[keep]
            mask = torch.cat([mask, mask.new_ones(len(rows), 1)], 1)
            position = position[:, -1:] + 1
            step_ids = tokens[:, None]
    return out


class LineEnd:
    """Stops a row once its new text has a line break after non-blank text (a chat model's leading
    newline does not end the answer), or at the end-of-turn token ``eos``."""

    def __init__(self, tokenizer: Any, rows: int, eos: int | None) -> None:
        self.tokenizer, self.eos = tokenizer, eos
        self.text = [False] * rows  # per row: non-blank text generated so far

    def __call__(self, row: int, token: int) -> bool:
        if token == self.eos:
            return True
        piece = self.tokenizer.decode([token], skip_special_tokens=True)
        done = "\n" in piece and (self.text[row] or bool(piece.split("\n", 1)[0].strip()))
        self.text[row] = self.text[row] or bool(piece.strip())
        return done


def split_prefix(ids: torch.Tensor, mask: torch.Tensor) -> tuple[list[int], torch.Tensor, torch.Tensor]:
    """Left-padded prompts -> (their common first tokens, the rests left-padded): for :func:`greedy`'s
    ``prefix``. Every rest keeps at least one token (the first step reads its last position)."""
    from qxbench.probes.choices import common_prefix, padded

    rows = [r[m.bool()].tolist() for r, m in zip(ids, mask, strict=True)]
    k = common_prefix(rows) if len(rows) > 1 else 0
    pad = int(ids[mask == 0][0]) if bool((mask == 0).any()) else 0  # the tokenizer's pad, masked either way
    rest_ids, rest_mask = padded([r[k:] for r in rows], pad, left=True)
    return rows[0][:k], rest_ids.to(ids.dtype), rest_mask.to(mask.dtype)


def decode(tokenizer: Any, rows: Sequence[Sequence[int]]) -> list[str]:
    return tokenizer.batch_decode([list(r) for r in rows], skip_special_tokens=True)
