"""Log-likelihoods of a few answer choices after prompts that share a beginning, each shared part run once.

lm-eval's ``loglikelihood`` scores each (context, continuation) pair as its own sequence, so a prompt
with ``k`` labels is run ``k`` times, the insertion test's variants of one document (the same prompt
with one word inserted) repeat the whole prompt, and every document of a task repeats its beginning
(the chat template's header, the instruction, the labels). Here the batch's common token prefix runs
once (stage 0, one row); per group of contexts (one document's variants) the rest of the group's
longest common token prefix runs on a copy of that cache (stage 1, left-padded); then each context's
own rest (the first token of every choice is read at its last token) and the remaining tokens of its
choices run side by side in its group's row (stages 2 and 3, :meth:`_Run.tree`): a 4D mask lets each
token see its group's prefix, its context's rest and its own choice's earlier tokens only, at the
positions they would have alone, so no row's cache is copied. (Copying the cache per context and per
choice, as where the tree does not apply (:func:`_copies`), moved ``rows x cached tokens`` per layer:
on HealthFC's evidence, more time than the tokens themselves.) Groups are batched in order of length
(less padding); results come back in the caller's order. Padding holes are masked and the position
ids count real tokens only, so each row sees exactly its own sequence. Tokens are
lm-eval's own (``HFLM._encode_pair``: the context encoded alone, the continuation as the rest of the
whole text); the log-softmax is taken in float32. The sums equal ``lm.loglikelihood``'s up to float
rounding (``tests/engine/test_choices.py``; 1.2e-5 on SmolLM2's e-SNLI prompts).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch

from qxbench import progress
from qxbench.engine.forward import accepts_logits_to_keep

# Architectures on which one row per group with a 4D mask (:meth:`_Run.tree`) is tested to score as
# copies of the cache do (tests/engine/test_choices.py: the embedded Llama, SmolLM2, Gemma 3 270M,
# Qwen2.5-Coder 0.5B); any other runs stages 2 and 3 on copies (:func:`_copies`).
TREE_TYPES = ("llama", "gemma3_text", "qwen2")


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
        self.keeps_logits = accepts_logits_to_keep(model)
        self.device = next(model.parameters()).device
        self.mask: torch.Tensor | None = None

    def select(self, rows: Sequence[int]) -> None:
        keep = torch.tensor(list(rows), device=self.device)
        self.cache.batch_select_indices(keep)
        self.mask = self.mask[keep]

    def fits_tree(self, width: int) -> bool:
        """Whether :meth:`tree` computes what copies of the cache would: an architecture whose forward
        reads a custom 4D mask as given (``TREE_TYPES``) under SDPA attention and, on a model with
        sliding-window layers (Gemma 3), every row within the window."""
        config = self.model.config
        window = getattr(config, "sliding_window", None)
        length = (0 if self.mask is None else self.mask.shape[1]) + width
        return (getattr(config, "model_type", None) in TREE_TYPES and getattr(config, "_attn_implementation", None)
                == "sdpa" and (not window or length < window))

    def tree(self, rows: Sequence[Sequence[tuple[Sequence[int], int]]], read: Sequence[Sequence[int]], pad: int
             ) -> torch.Tensor:
        """Several continuations of each cached row at once, without copying the cache: row ``r``'s nodes
        (tokens, parent node or -1 for the row's sequence so far) lie side by side in one row, each
        token attending to the row's sequence so far, to its ancestors' tokens and to its own node's
        earlier tokens (a 4D mask), at the position it would have on its own. ``read[r]``: the row
        positions whose log-probabilities are returned, [rows, len(read[r]), vocab] (padded)."""
        width = max(1, max(sum(len(t) for t, _ in nodes) for nodes in rows))
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        offset = torch.zeros((len(rows), width), dtype=torch.long)
        own = torch.zeros((len(rows), width, width), dtype=torch.bool)
        for r, nodes in enumerate(rows):
            at, spans = 0, []  # per node: (start, end, the position after its last token)
            for tokens, parent in nodes:
                n, base = len(tokens), (spans[parent][2] if parent >= 0 else 0)
                ids[r, at:at + n] = torch.tensor(list(tokens), dtype=torch.long)
                offset[r, at:at + n] = base + torch.arange(n)
                own[r, at:at + n, at:at + n] = torch.ones((n, n), dtype=torch.bool).tril()
                if parent >= 0:
                    own[r, at:at + n] |= own[r, spans[parent][1] - 1][None]  # what the parent's last token sees
                spans.append((at, at + n, base + n))
                at += n
            own[r, range(at, width), range(at, width)] = True  # padding sees itself: no row without a key
        past = self.mask.bool()
        mask = torch.cat([past[:, None, :].expand(len(rows), width, past.shape[1]), own.to(self.device)], -1)[:, None]
        position = past.sum(-1, keepdim=True) + offset.to(self.device)
        extra = {"position_ids": position} if "position_ids" in self.accepts else {}
        keep = sorted({k for r in read for k in r})
        if self.keeps_logits:
            extra["logits_to_keep"] = torch.tensor(keep, device=self.device)
        logits = self.model(input_ids=ids.to(self.device), attention_mask=mask, past_key_values=self.cache,
                            use_cache=True, **extra).logits
        if not self.keeps_logits:
            logits = logits[:, keep]
        where = {k: i for i, k in enumerate(keep)}
        index = torch.tensor([[where[k] for k in r] + [0] * (max(map(len, read)) - len(r)) for r in read],
                             device=logits.device)
        picked = torch.gather(logits, 1, index[..., None].expand(-1, -1, logits.shape[-1]))
        return torch.log_softmax(picked.to(torch.float32), -1)

    def step(self, ids: torch.Tensor, mask: torch.Tensor, keep_last: bool) -> torch.Tensor:
        ids, mask = ids.to(self.device), mask.to(self.device)
        before = self.mask.sum(-1, keepdim=True) if self.mask is not None else 0
        position = (before + mask.cumsum(-1) - 1).clamp(min=0)
        self.mask = mask if self.mask is None else torch.cat([self.mask, mask], 1)
        extra = {"position_ids": position} if "position_ids" in self.accepts else {}
        if keep_last and self.keeps_logits:
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
    variants = [v for _, vs in groups for v in vs]
    rows = [(v, c) for v, (_, conts) in enumerate(variants) for c in conts]
    nodes, read, where = _tree_layout(groups)
    if run.fits_tree(max(sum(len(t) for t, _ in row) for row in nodes)):  # stages 2 and 3: one row per group
        logp = run.tree(nodes, read, pad)
        scores = [float(sum(logp[g, k, t] for k, t in zip(ks, c, strict=True))) for (g, ks), (_, c) in
                  zip(where, rows, strict=True)]
    else:
        scores = _copies(run, groups, variants, rows, pad)
    out, i = [], 0
    for _, conts in variants:
        out.append(scores[i:i + len(conts)])
        i += len(conts)
    return out


def _tree_layout(groups: Sequence[tuple[list[int], list[tuple[list[int], list[list[int]]]]]]
                 ) -> tuple[list[list[tuple[list[int], int]]], list[list[int]], list[tuple[int, list[int]]]]:
    """:meth:`_Run.tree`'s input for stages 2 and 3: per group row its nodes (each context's rest, then
    each of its choices' tokens after the first but the last, a child of that rest) and the row
    positions read; per (context, choice) in order, its row and the indices into that row's reads
    whose log-probabilities of the choice's tokens sum to its score."""
    nodes, read, where = [], [], []
    for _, members in groups:
        row, spots, at = [], [], 0
        for rest, conts in members:
            row.append((rest, -1))
            node, at = len(row) - 1, at + len(rest)
            spots.append(at - 1)
            first_at = len(spots) - 1
            for c in conts:
                if len(c) > 1:
                    row.append((c[:-1], node))
                    where.append((len(nodes), [first_at, *range(len(spots), len(spots) + len(c) - 1)]))
                    spots += range(at, at + len(c) - 1)
                    at += len(c) - 1
                else:
                    where.append((len(nodes), [first_at]))
        nodes.append(row)
        read.append(spots)
    return nodes, read, where


def _copies(run: _Run, groups: Sequence[Any], variants: Sequence[Any], rows: Sequence[Any], pad: int
            ) -> list[float]:
    """Stages 2 and 3 on copies of the cache (where :meth:`_Run.tree` does not apply): a copy of its
    group's cache per context, then a copy of its context's per choice."""
    run.select([g for g, (_, members) in enumerate(groups) for _ in members])
    first = run.step(*padded([rest for rest, _ in variants], pad, left=True), keep_last=True)
    scores = [float(first[v, c[0]]) for v, c in rows]
    if max(len(c) for _, c in rows) > 1:
        run.select([v for v, _ in rows])
        logp = run.step(*padded([c[:-1] for _, c in rows], pad, left=False), keep_last=False)
        for r, (_, c) in enumerate(rows):
            scores[r] += float(sum(logp[r, j - 1, c[j]] for j in range(1, len(c))))
    return scores


def choice_loglikelihoods(lm: Any, contexts: Sequence[str], continuations: Sequence[Sequence[str]],
                          batch_size: int, pad: int, groups: Sequence[Any] | None = None) -> list[list[float]]:
    """Per context, the log-likelihood of each of its continuations (as ``lm.loglikelihood``).
    ``groups``: a key per context; contexts with the same key share their common prefix (one
    document's insertion variants); None: every context on its own. A batch holds about
    ``batch_size`` contexts (whole groups). Each batch scored advances the open progress phase by its
    (context, choice) pairs (:meth:`qxbench.progress.Phase.request_answered`): a long pass shows its progress."""
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
        if (bar := progress.active()) is not None:  # the phase's bar counts the (context, choice) pairs scored
            bar.request_answered(sum(len(conts) for g in batch for _, _, conts in g))
        batch.clear()

    for members in sorted(encoded.values(), key=lambda m: max(len(ctx) for _, ctx, _ in m)):  # less padding
        batch.append(members)
        if sum(map(len, batch)) >= batch_size:
            flush()
    if batch:
        flush()
    return out


def per_character(lm: Any, context: str, choices: Sequence[str]) -> bool:
    """Whether a document's choices are compared per character of the choice (lm-eval's ``acc_norm``):
    when one of them is more than one token after ``context`` (lm-eval's own tokens,
    ``_encode_pair``; ``tok_encode`` of `` choice`` for an LM without it). Where every choice is one
    token, dividing by its characters is a pure length prior, so the plain log-likelihood is used."""
    encode = getattr(lm, "_encode_pair", None)
    counts = [len(encode(context, f" {c}")[1]) if encode else len(lm.tok_encode(f" {c}")) for c in choices]
    return any(n > 1 for n in counts)
