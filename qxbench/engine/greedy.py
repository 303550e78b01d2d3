"""Greedy decoding in which a row leaves the batch as soon as it has stopped.

``model.generate`` keeps every row of a batch until the last one stops: on the CPU a decoding step
costs a fixed part (reading every weight once) plus a part per row, and a batch of short answers
with one long one pays for all its rows at every step. Here each step runs only the rows still
going; their key/value cache rows are kept with ``Cache.batch_select_indices``. The inputs of each
step are those ``generate`` builds (left padding, position ids from the attention mask, a
``DynamicCache``, logits of the last position only, the float32 argmax), so a row's tokens are
``generate``'s (``tests/engine/test_greedy.py`` compares the two on the embedded model and SmolLM2).
Prompts that begin alike (one task's chat header and instruction) can run their common beginning
once (``prefix``, :func:`split_prefix`): the same tokens, tested on both models too.

:func:`stream` keeps a batch full instead (continuous batching): once a quarter of its rows have
stopped, the next prompts run up to their first token and join the running rows, their key/value rows
left-padded to the running cache's length (masked holes, as left padding is). On the CPU a decoding
step reads every weight whatever the rows, so a batch whose rows have left pays that for few tokens.
"""

from __future__ import annotations

import copy
import inspect
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import torch

from qxbench.engine.forward import accepts_logits_to_keep

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


def stream(model: Any, prompts: Sequence[Sequence[int]], max_tokens: int, stop: Stop, rows: int, pad: int,
           done: Callable[[int], None] = lambda i: None) -> list[list[int]]:
    """Each token prompt's greedy continuation, as :func:`greedy` gives it (``stop(i, token)``: ``i`` the
    prompt's index), with at most ``rows`` prompts running at once, taken in the given order: once
    ``rows // 4`` (at least one) have stopped, the next ones join (continuous batching). Their common
    first tokens run once. ``done(i)``: called as prompt ``i`` stops. A model whose cache is not made of
    full-attention layers only (a sliding window: Gemma 3) runs batch by batch (:func:`greedy`)."""
    out: list[list[int]] = [[] for _ in prompts]
    if max_tokens < 1 or not out:
        return out
    if not _joinable(model):
        return _batch_by_batch(model, prompts, max_tokens, stop, rows, pad, done)
    pending = deque(range(len(prompts)))
    with torch.no_grad():
        run = _Running(model, prompts, pad)
        while pending or run.live:
            if pending and len(run.live) <= rows - max(1, rows // 4):
                joining = [pending.popleft() for _ in range(min(rows - len(run.live), len(pending)))]
                fresh, tokens = run.start(joining)
                run.merge(fresh.keep(_going(joining, tokens, out, stop, max_tokens, done)))
            else:
                tokens = run.step()
                run.keep(_going(run.live, tokens, out, stop, max_tokens, done))
    return out


def _going(ids: Sequence[int], tokens: Sequence[int], out: list[list[int]], stop: Stop, max_tokens: int,
           done: Callable[[int], None]) -> list[int]:
    """Records each prompt's new token; the positions (in ``ids``) of the prompts that go on."""
    going = []
    for j, (i, token) in enumerate(zip(ids, tokens, strict=True)):
        out[i].append(token)
        if stop(i, token) or len(out[i]) >= max_tokens:
            done(i)
        else:
            going.append(j)
    return going


def _joinable(model: Any) -> bool:
    """Whether every layer of the model's cache keeps all positions (rows of any length can be joined)."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    return all(type(layer) is DynamicLayer for layer in DynamicCache(config=model.config).layers)


def _batch_by_batch(model: Any, prompts: Sequence[Sequence[int]], max_tokens: int, stop: Stop, rows: int,
                    pad: int, done: Callable[[int], None]) -> list[list[int]]:
    from qxbench.engine.choices import padded

    out: list[list[int]] = []
    device = next(model.parameters()).device
    for start in range(0, len(prompts), rows):
        ids, mask = padded(prompts[start:start + rows], pad, left=True)
        prefix, ids, mask = split_prefix(ids, mask)
        out += greedy(model, ids.to(device), mask.to(device), max_tokens,
                      lambda r, t, s=start: stop(s + r, t), prefix)
        for i in range(start, min(start + rows, len(prompts))):
            done(i)
    return out


class _Running:
    """The rows decoding together: their prompts' indices (``live``), key/value cache, attention mask
    over the cached positions (holes 0) and the token each feeds next. The prompts' common first tokens
    are cached once (``head``) and copied for every prompt that starts."""

    def __init__(self, model: Any, prompts: Sequence[Sequence[int]], pad: int) -> None:
        from qxbench.engine.choices import common_prefix

        self.model, self.prompts, self.pad = model, prompts, pad
        self.device = next(model.parameters()).device
        self.keep_arg = {"logits_to_keep": 1} if accepts_logits_to_keep(model) else {}
        self.takes_positions = "position_ids" in inspect.signature(model.forward).parameters  # read once, not per step
        self.k = common_prefix(prompts) if len(prompts) > 1 else 0
        self.head = self._cache()
        if self.k:
            ids = torch.tensor([list(prompts[0][:self.k])], device=self.device)
            self._forward(ids, torch.ones_like(ids), torch.arange(self.k, device=self.device)[None], self.head)
        self.live: list[int] = []
        self.cache: Any = None
        self.mask = self.next = torch.zeros((0, 0), dtype=torch.long, device=self.device)

    def _cache(self) -> Any:
        from transformers import DynamicCache

        return DynamicCache(config=self.model.config)

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, position: torch.Tensor, cache: Any) -> list[int]:
        positions = {"position_ids": position} if self.takes_positions else {}
        logits = self.model(input_ids=ids, attention_mask=mask, past_key_values=cache, use_cache=True,
                            **positions, **self.keep_arg).logits[:, -1]
        return logits.to(torch.float32).argmax(-1).tolist()

    def start(self, joining: list[int]) -> tuple[_Running, list[int]]:
        """The prompts ``joining`` run on copies of the head's cache up to their first new token."""
        from qxbench.engine.choices import padded

        fresh = copy.copy(self)
        fresh.live, fresh.cache = list(joining), copy.deepcopy(self.head)
        if self.k:
            fresh.cache.batch_repeat_interleave(len(joining))
        ids, mask = padded([self.prompts[i][self.k:] for i in joining], self.pad, left=True)
        ids, mask = ids.to(self.device), torch.cat([mask.new_ones(len(joining), self.k), mask], 1).to(self.device)
        position = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)[:, self.k:]
        tokens = self._forward(ids, mask, position, fresh.cache)
        fresh.mask, fresh.next = mask, torch.tensor(tokens, device=self.device)[:, None]
        return fresh, tokens

    def step(self) -> list[int]:
        """One token for every live row."""
        position = self.mask.sum(-1, keepdim=True)  # real tokens before the one fed now
        self.mask = torch.cat([self.mask, self.mask.new_ones(len(self.live), 1)], 1)
        tokens = self._forward(self.next, self.mask, position, self.cache)
        self.next = torch.tensor(tokens, device=self.device)[:, None]
        return tokens

    def keep(self, going: list[int]) -> _Running:
        """Only the rows at positions ``going`` stay."""
        if len(going) < len(self.live):
            at = torch.tensor(going, dtype=torch.long, device=self.device)
            self.cache.batch_select_indices(at)
            self.live, self.mask, self.next = [self.live[j] for j in going], self.mask[at], self.next[at]
        return self

    def merge(self, other: _Running) -> None:
        """``other``'s rows join these: the shorter cache is left-padded with masked holes, and the
        positions no row reads any more are dropped."""
        if not other.live:
            return
        if not self.live:
            self.live, self.cache, self.mask, self.next = other.live, other.cache, other.mask, other.next
            return
        width = max(self.mask.shape[1], other.mask.shape[1])
        for mine, theirs in zip(self.cache.layers, other.cache.layers, strict=True):
            mine.keys = torch.cat([_left(mine.keys, width, 2), _left(theirs.keys, width, 2)])
            mine.values = torch.cat([_left(mine.values, width, 2), _left(theirs.values, width, 2)])
        self.mask = torch.cat([_left(self.mask, width, 1), _left(other.mask, width, 1)])
        self.live, self.next = self.live + other.live, torch.cat([self.next, other.next])
        first = int((self.mask.sum(0) > 0).nonzero()[0])
        if first:
            for layer in self.cache.layers:
                layer.keys, layer.values = layer.keys[:, :, first:], layer.values[:, :, first:]
            self.mask = self.mask[:, first:]


def _left(t: torch.Tensor, width: int, dim: int) -> torch.Tensor:
    """``t`` left-padded with zeros along ``dim`` to ``width``."""
    missing = width - t.shape[dim]
    if not missing:
        return t
    shape = list(t.shape)
    shape[dim] = missing
    return torch.cat([t.new_zeros(shape), t], dim)


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
    from qxbench.engine.choices import common_prefix, padded

    rows = [r[m.bool()].tolist() for r, m in zip(ids, mask, strict=True)]
    k = common_prefix(rows) if len(rows) > 1 else 0
    pad = int(ids[mask == 0][0]) if bool((mask == 0).any()) else 0  # the tokenizer's pad, masked either way
    rest_ids, rest_mask = padded([r[k:] for r in rows], pad, left=True)
    return rows[0][:k], rest_ids.to(ids.dtype), rest_mask.to(mask.dtype)


def decode(tokenizer: Any, rows: Sequence[Sequence[int]]) -> list[str]:
    return tokenizer.batch_decode([list(r) for r in rows], skip_special_tokens=True)
