"""The ``qx_next_token`` request of the ``calib`` probe: a one-token answer, its confidence, its correctness.

Reference: Sajjad & Singh 2025, github.com/MSingh-CSE/LLM-Quantization-Effects (commit 75d2d49),
``src/0_softmax.py``. Request arguments: ``(prompt, gold, choices, options)``; ``options`` is the
task's metadata (:class:`NextTokenOptions`), so one batch may mix tasks with different options.

``mode=free`` (default; the reference's mode)
    One forward pass over the prompt, tokenized with the tokenizer's defaults
    (``tokenizer(prompts)``, ``0_softmax.py:34``: no BOS beyond what the tokenizer adds).
    probs = softmax of the next-token logits (``:40-41``), in the logits' dtype by default
    (``softmax_dtype=model``; ``softmax_dtype=float32`` upcasts first: the reference's 16-bit runs
    load float32 models, its bitsandbytes runs compute in float16); greedy id = argmax(probs)
    (``:43``); prediction = ``tokenizer.decode(id)``, special tokens kept (``:44``);
    confidence = probs[id] (``:45``). Correct:

    * ``match=substring`` (default): ``gold.strip().lower() in prediction.strip().lower()``
      (``:44``, ``:48``) -- a substring test, so gold ``A`` counts for a predicted ``Answer``;
    * ``match=first_token`` (qxbench's calib v1 rule): greedy id == the gold's first token
      (``ProbeRequests._first_token``: tokenized on its own after a space, as memorize and multihop
      do). Needed where answers span several tokens (the embedded world's facts), which the
      reference rule never credits.

``mode=choices`` (qxbench's; no reference code)
    Scores the document's own answer set. Each choice continues the exact prompt tokens of
    ``mode=free`` with ``" " + choice`` (just ``choice`` when the prompt ends in whitespace);
    its score is the summed log-probability of its tokens (lm-eval's ``loglikelihood``).
    confidence = max softmax over the choices' scores; prediction = the best choice (first on
    ties); correct = the prediction is the gold choice. ``match`` and ``softmax_dtype`` do not apply.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import torch

from qxbench import progress
from qxbench.errors import QxError, unknown
from qxbench.interp.hooks import Hook, hooks
from qxbench.interp.internals import pad_batch
from qxbench.probes.options import known_options
from qxbench.probes.results import NextToken

__all__ = ["NextTokenOptions", "substring_correct", "answer", "free", "choices", "choice_continuations"]


@dataclass(frozen=True)
class NextTokenOptions:
    """The definitions a calib run uses; every one is recorded in the results (``as_dict``)."""

    mode: str = "free"
    match: str = "substring"
    softmax_dtype: str = "model"

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "mode": ("free", "choices"), "match": ("substring", "first_token"), "softmax_dtype": ("model", "float32"),
    }
    NOT_OPTIONS: ClassVar[frozenset[str]] = frozenset({"model"})  # close to "mode", never meant as it

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any] | None) -> NextTokenOptions:
        values: dict[str, str] = {}
        options = known_options(metadata, [f.name for f in fields(cls)], "calib", ignore=cls.NOT_OPTIONS, cutoff=0.75)
        for key, value in options.items():
            if str(value) not in cls.CHOICES[key]:
                raise unknown(f"calib {key}", value, cls.CHOICES[key])
            values[key] = str(value)
        return cls(**values)

    def as_dict(self) -> dict[str, str]:
        if self.mode == "choices":
            return {"mode": self.mode}
        return {"mode": self.mode, "match": self.match, "softmax_dtype": self.softmax_dtype}


def substring_correct(gold: str, prediction: str) -> bool:
    """The reference rule (``src/0_softmax.py:44,48``): the stripped, lower-cased gold is a substring
    of the stripped, lower-cased prediction. An empty gold (a substring of everything) is an error."""
    if not gold.strip():
        raise QxError(f"Empty gold answer {gold!r}: the substring rule would count every prediction correct")
    return gold.strip().lower() in prediction.strip().lower()


def _chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, start + size)


@contextmanager
def _head_at(model: torch.nn.Module, last: torch.Tensor) -> Iterator[None]:
    """Feed the output head only each row's ``last`` hidden state (logits [batch, 1, vocab]): the
    full [batch, width, vocab] logits of long prompts cost far more than the model itself."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None

    def pre(_m, args):  # noqa: ANN001
        h = args[0]
        if h.dim() != 3 or h.shape[0] != last.numel():
            return None
        return (h[torch.arange(h.shape[0], device=h.device), last.to(h.device)].unsqueeze(1), *args[1:])

    with hooks([Hook(head, pre, pre=True)] if head is not None else []):
        yield


@torch.no_grad()
def _last_logits(model: torch.nn.Module, batches: Sequence[Sequence[int]], pad_id: int) -> torch.Tensor:
    """Next-token logits [batch, vocab] at each right-padded sequence's last token, in the model's
    output dtype (the reference's softmax runs in that dtype)."""
    device = next(model.parameters()).device
    ids, mask, last = pad_batch(batches, pad_id, device)
    with _head_at(model, last):
        logits = model(input_ids=ids, attention_mask=mask).logits
    rows = torch.arange(len(batches), device=logits.device)
    return logits[:, 0] if logits.shape[1] == 1 else logits[rows, last.to(logits.device)]


@torch.no_grad()
def _logprobs(model: torch.nn.Module, batches: Sequence[Sequence[int]], pad_id: int) -> torch.Tensor:
    """log_softmax of the logits [batch, width, vocab] of right-padded sequences (float32, CPU)."""
    device = next(model.parameters()).device
    ids, mask, _ = pad_batch(batches, pad_id, device)
    return torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits.float(), -1).cpu()


def answer(lm: Any, requests: Sequence[Any]) -> list[NextToken]:
    """``qx_next_token`` on typed requests (:class:`qxbench.probes.typed.NextTokenRequest`) that share their
    options and chat settings, results in request order. With ``--apply_chat_template`` /
    ``--system_instruction`` the prompt is formatted as one user turn plus the generation prompt
    (:mod:`qxbench.engine.chat`; the reference uses the raw prompt)."""
    if not requests:
        return []
    opts, fmt = requests[0].options, requests[0].chat.formatter(lm)
    prompts, golds = [fmt(r.prompt) for r in requests], [r.gold for r in requests]
    if opts.mode == "free":
        return free(lm, prompts, golds, opts)
    return choices(lm, prompts, golds, [list(r.choices) for r in requests])


def _by_length(seqs: Sequence[Sequence[int]], size: int) -> Iterator[list[int]]:
    """Batches of indices into ``seqs``, longest first (less padding; results go back by index)."""
    order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
    for part in _chunks(len(order), size):
        yield order[part]


def free(lm: Any, prompts: Sequence[str], golds: Sequence[str], opts: NextTokenOptions) -> list[NextToken]:
    """The reference's greedy next token (see the module docstring)."""
    ids = [lm._ids(p) for p in prompts]
    out: dict[int, NextToken] = {}
    with progress.phase("next token", len(ids)) as bar:
        for batch in _by_length(ids, lm._probe_batch()):
            out.update(_free_batch(lm, ids, batch, prompts, golds, opts))
            bar.advance(len(batch))
    return [out[i] for i in range(len(prompts))]


def _free_batch(lm: Any, ids: Sequence[Sequence[int]], batch: list[int], prompts: Sequence[str],
                golds: Sequence[str], opts: NextTokenOptions) -> dict[int, NextToken]:
    out: dict[int, NextToken] = {}
    logits = _last_logits(lm.model, [ids[i] for i in batch], lm._pad_id())
    probs = torch.softmax(logits.float() if opts.softmax_dtype == "float32" else logits, dim=-1).cpu()
    for i, row in zip(batch, probs, strict=True):
        token = int(torch.argmax(row).item())
        text = lm.tokenizer.decode(token)
        if opts.match == "substring":
            correct = substring_correct(golds[i], text)
        else:
            correct = token == lm._first_token(prompts[i], golds[i])
        out[i] = NextToken("free", text, token, float(row[token].item()), correct, opts.as_dict())
    return out


def choice_continuations(lm: Any, prompt: str, options: Sequence[str]) -> tuple[list[int], list[list[int]]]:
    """The prompt's tokens (as ``mode=free`` sees them) and each choice's continuation tokens."""
    if len(options) < 2 or len(set(options)) != len(options):
        raise QxError(f"calib mode=choices needs at least two distinct choices, got {list(options)} for {prompt!r}")
    context = lm._ids(prompt)
    full = lm.tok_encode(prompt)
    delimiter = "" if prompt[-1:].isspace() else " "
    conts = []
    for choice in options:
        whole = lm.tok_encode(prompt + delimiter + choice)
        cont = whole[len(full):] if whole[:len(full)] == full else \
            lm.tok_encode(delimiter + choice, add_special_tokens=False)  # a merge across the boundary
        if not cont:
            raise QxError(f"Choice {choice!r} adds no token to {prompt!r}")
        conts.append(cont)
    return context, conts


def _sequence_scores(lm: Any, context: list[int], conts: list[list[int]]) -> list[float]:
    """Summed log-probability of each (multi-token) continuation after ``context``."""
    seqs = [(context + c)[-(lm.max_length + 1):] for c in conts]
    logp = _logprobs(lm.model, [s[:-1] for s in seqs], lm._pad_id())
    out = []
    for row, seq, cont in zip(logp, seqs, conts, strict=True):
        start = len(seq) - 1 - len(cont)
        out.append(sum(float(row[start + j, t].item()) for j, t in enumerate(cont)))
    return out


def choices(lm: Any, prompts: Sequence[str], golds: Sequence[str],
            answer_sets: Sequence[Sequence[str]]) -> list[NextToken]:
    """The best choice of each document's answer set (see the module docstring)."""
    encoded = []
    for prompt, gold, options in zip(prompts, golds, answer_sets, strict=True):
        if gold not in options:
            raise QxError(f"Gold answer {gold!r} is not one of the choices {list(options)} of {prompt[:60]!r}")
        encoded.append(choice_continuations(lm, prompt, options))
    scores: dict[int, list[float]] = {}
    single = [i for i, (_, conts) in enumerate(encoded) if all(len(c) == 1 for c in conts)]
    with progress.phase("score the choices", len(encoded)) as bar:
        for part in _by_length([encoded[i][0] for i in single], lm._probe_batch()):  # one pass serves all choices
            rows = [single[j] for j in part]
            logits = _last_logits(lm.model, [encoded[i][0] for i in rows], lm._pad_id())
            logp = torch.log_softmax(logits.float(), -1).cpu()
            for i, row in zip(rows, logp, strict=True):
                scores[i] = [float(row[c[0]].item()) for c in encoded[i][1]]
            bar.advance(len(rows))
        for i, (context, conts) in enumerate(encoded):
            if i not in scores:
                scores[i] = _sequence_scores(lm, context, conts)
                bar.advance()
    out = []
    for i, (gold, options) in enumerate(zip(golds, answer_sets, strict=True)):
        probs = torch.softmax(torch.tensor(scores[i], dtype=torch.float64), -1).tolist()
        best = max(range(len(options)), key=probs.__getitem__)
        out.append(NextToken("choices", options[best], None, probs[best], options[best] == gold,
                             {"mode": "choices"}, tuple(probs)))
    return out
