"""Greedy decoding that drops finished rows (qxbench.engine.greedy.greedy) against ``model.generate`` with
the same stopping rule, which keeps every row until the last stops (benchmarks/speed/decode_ig.py's
``generate_rows``, reused): same tokens, fewer row-steps."""

from __future__ import annotations

import pytest
import torch

from benchmarks.common import once
from benchmarks.speed.decode_ig import generate_rows

SIZES = {"tiny": (16, 24), "smollm2": (16, 32)}  # rows, most new tokens


def _prompts(tokenizer, facts, rows):
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    batch = tokenizer([p for p, _ in facts[:rows]], return_tensors="pt", padding=True)
    return batch["input_ids"], batch["attention_mask"]


def _greedy(model, tokenizer, ids, mask, max_tokens):
    from qxbench.engine.greedy import LineEnd, greedy

    return greedy(model, ids, mask, max_tokens, LineEnd(tokenizer, len(ids), tokenizer.eos_token_id))


@pytest.mark.parametrize("how", ["greedy_drops_rows", "generate_keeps_rows"])
@pytest.mark.parametrize("which", ["tiny", "smollm2"])
def test_greedy_decoding(benchmark, request, which, how):
    model, tokenizer = request.getfixturevalue(which)
    n, max_tokens = SIZES[which]
    benchmark.group = f"greedy decoding {which} ({n} rows, <= {max_tokens} tokens)"
    ids, mask = _prompts(tokenizer, request.getfixturevalue("facts"), n)
    rounds, warmup = (3, 1) if which == "tiny" else (2, 0)
    with torch.no_grad():
        if how == "greedy_drops_rows":
            rows = once(benchmark, lambda: _greedy(model, tokenizer, ids, mask, max_tokens), rounds, warmup)
        else:
            rows = once(benchmark, lambda: generate_rows(model, tokenizer, ids, mask, max_tokens), rounds, warmup)
            assert rows == _greedy(model, tokenizer, ids, mask, max_tokens)  # the speed-up changes no token
    benchmark.extra_info.update(rows=len(rows), tokens=sum(map(len, rows)))
