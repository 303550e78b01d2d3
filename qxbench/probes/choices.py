"""Log-likelihoods of a few answer choices after prompts that share a beginning, each shared part run once.

lm-eval's ``loglikelihood`` scores each (context, continuation) pair as its own sequence, so a prompt
with ``k`` labels is run ``k`` times, the insertion test's variants of one document (the same prompt
with one word inserted) repeat the whole prompt, and every document of a task repeats its beginning
(the chat template's header, the instruction, the labels). Here the batch's common token prefix runs
once (stage 0, one row); per group of contexts (one document's variants) the rest of the group's
longest common token prefix runs on a copy of that cache (stage 1, left-padded), each context's own
rest runs on a copy of its group's cache (stage 2, padded on the left so that every row ends on a real
token: the first token of every choice is read there), and the remaining tokens of all choices run
together on copies of the stage-2 cache (stage 3, ``Cache.batch_select_indices``). Groups are batched
in order of length (less padding); results come back in the caller's order. Padding holes are masked
and the position ids count real tokens only, so each row sees exactly its own sequence. Tokens are
lm-eval's own (``HFLM._encode_pair``: the context encoded alone, the continuation as the rest of the
whole text); the log-softmax is taken in float32. The sums equal ``lm.loglikelihood``'s up to float
rounding (``tests/probes/test_choices.py``; 1.2e-5 on SmolLM2's e-SNLI prompts).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch


def padded(rows: Sequence[Sequence[int]], pad: int, left: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Token rows as one batch (ids, mask), padded on the left or the right with ``pad``."""
    width = max(1, max(len(r) for r in rows))
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        at = slice(width - len(r), width) if left else slice(0, len(r))
        ids[i, at] = torch.tensor(list(r), dtype=torch.long)
        mask[i, at] = 1
    return ids, mask


def common_prefix(rows: Sequence[Sequence[int]]) -> int:
    """Length of the longest common prefix, short of the shortest row by one (every row keeps a token)."""
    n = min(len(r) for r in rows) - 1
    first = rows[0]
    for k in range(max(0, n)):
        if any(r[k] != first[k] for r in rows[1:]):
            return k
    return max(0, n)


class _Run:
    """One batch's growing sequences: a cache, the mask of real tokens and their count per row."""

    def __init__(self, model: Any) -> None:
        from transformers import DynamicCache

        self.model, self.cache = model, DynamicCache(config=model.config)
        self.accepts = inspect.signature(model.forward).parameters
        self.device = next(model.parameters()).device
        self.mask: torch.Tensor | None = None

    def select(self, rows: Sequence[int]) -> None:
        keep = torch.tensor(list(rows), device=self.device)
        self.cache.batch_select_indices(keep)
        self.mask = self.mask[keep]

    def step(self, ids: torch.Tensor, mask: torch.Tensor, keep_last: bool) -> torch.Tensor:
        ids, mask = ids.to(self.device), mask.to(self.device)
        before = self.mask.sum(-1, keepdim=True) if self.mask is not None else 0
        position = (before + mask.cumsum(-1) - 1).clamp(min=0)
        self.mask = mask if self.mask is None else torch.cat([self.mask, mask], 1)
        extra = {"position_ids": position} if "position_ids" in self.accepts else {}
        if keep_last and "logits_to_keep" in self.accepts:
            extra["logits_to_keep"] = 1
        logits = self.model(input_ids=ids, attention_mask=self.mask, past_key_values=self.cache, use_cache=True,
                            **extra).logits
        return torch.log_softmax((logits[:, -1] if keep_last else logits).to(torch.float32), -1)


@torch.no_grad()
def _batch(model: Any, groups: Sequence[tuple[list[int], list[tuple[list[int], list[list[int]]]]]], pad: int
           ) -> list[list[float]]:
    """``groups``: (shared prefix, [(the context's rest, its continuations)]) -> per context, per choice."""
    run = _Run(model)
    prefixes = [p for p, _ in groups]
    shared = common_prefix(prefixes) if len(groups) > 1 else 0
    if shared:  # stage 0: the batch's common beginning, once
        run.step(*padded([prefixes[0][:shared]], pad, left=True), keep_last=True)
        run.select([0] * len(groups))
    run.step(*padded([p[shared:] for p in prefixes], pad, left=True), keep_last=True)
    owner = [g for g, (_, variants) in enumerate(groups) for _ in variants]
    variants = [v for _, vs in groups for v in vs]
    run.select(owner)
    first = run.step(*padded([rest for rest, _ in variants], pad, left=True), keep_last=True)
    rows = [(v, c) for v, (_, conts) in enumerate(variants) for c in conts]
    scores = [float(first[v, c[0]]) for v, c in rows]
    longest = max(len(c) for _, c in rows) - 1
    if longest > 0:
        run.select([v for v, _ in rows])
        logp = run.step(*padded([c[:-1] for _, c in rows], pad, left=False), keep_last=False)
        for r, (_, c) in enumerate(rows):
            scores[r] += float(sum(logp[r, j - 1, c[j]] for j in range(1, len(c))))
    out, i = [], 0
    for _, conts in variants:
        out.append(scores[i:i + len(conts)])
        i += len(conts)
    return out


def choice_loglikelihoods(lm: Any, contexts: Sequence[str], continuations: Sequence[Sequence[str]],
                          batch_size: int, pad: int, groups: Sequence[Any] | None = None) -> list[list[float]]:
    """Per context, the log-likelihood of each of its continuations (as ``lm.loglikelihood``).
    ``groups``: a key per context; contexts with the same key share their common prefix (one
    document's insertion variants); None: every context on its own. A batch holds about
    ``batch_size`` contexts (whole groups)."""
    keys = list(range(len(contexts))) if groups is None else list(groups)
    encoded: dict[Any, list[tuple[int, list[int], list[list[int]]]]] = {}
    for i, (context, conts, key) in enumerate(zip(contexts, continuations, keys, strict=True)):
        pairs = [lm._encode_pair(context, c) for c in conts]
        if any(p[0] != pairs[0][0] or not p[1] for p in pairs):
            raise ValueError(f"choices {list(conts)!r} do not continue {context[-40:]!r} on a token boundary")
        ctx = pairs[0][0][-(lm.max_length - max(len(p[1]) for p in pairs)):]
        encoded.setdefault(key, []).append((i, ctx, [p[1] for p in pairs]))
    out: list[list[float]] = [[] for _ in contexts]
    batch: list[list[tuple[int, list[int], list[list[int]]]]] = []

    def flush() -> None:
        shaped = []
        for members in batch:
            k = common_prefix([ctx for _, ctx, _ in members])
            shaped.append((members[0][1][:k], [(ctx[k:], conts) for _, ctx, conts in members]))
        for members, scores in zip([m for g in batch for m in g], _batch(lm.model, shaped, pad), strict=True):
            out[members[0]] = scores
        batch.clear()

    for members in sorted(encoded.values(), key=lambda m: max(len(ctx) for _, ctx, _ in m)):  # less padding
        batch.append(members)
        if sum(map(len, batch)) >= batch_size:
            flush()
    if batch:
        flush()
    return out
