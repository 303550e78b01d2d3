"""Greedy decoding with rows leaving the batch: the same tokens as ``model.generate``, fewer rows per step."""

from __future__ import annotations

import pytest
import torch

from qxbench.engine.greedy import LineEnd, greedy, split_prefix, stream

PROMPTS = ["The capital of France is", "Paris is the capital of", "A", "The language spoken in Germany is called",
           "One, two, three,", "The weather today"]


def left_padded(tokenizer, texts):
    """Left-padded ids and mask, without changing the (possibly session-wide) tokenizer's settings."""
    assert tokenizer.pad_token_id is not None
    enc = tokenizer(texts, return_tensors="pt", padding=True, padding_side="left")
    return enc.input_ids, enc.attention_mask


def rows_per_step(model):
    """Forward pre-hook recording the batch size of every forward pass (removed by the caller)."""
    sizes: list[int] = []
    handle = model.register_forward_pre_hook(lambda _m, _a, kw: sizes.append(kw["input_ids"].shape[0]),
                                             with_kwargs=True)
    return sizes, handle


def check_against_generate(model, ids, mask, max_tokens=12):
    """Row r stops after r + 1 tokens (the last row runs to ``max_tokens``) or at the end-of-sequence
    token, as ``generate`` stops it: every row's tokens are ``generate``'s, and the batch shrinks as
    rows stop."""
    eos = model.generation_config.eos_token_id
    with torch.no_grad():
        full = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_tokens, do_sample=False,
                              pad_token_id=0, temperature=None, top_p=None, top_k=None)
    length = [r + 1 for r in range(len(ids) - 1)] + [max_tokens]
    expected = []
    for row, tokens in enumerate(full[:, ids.shape[1]:].tolist()):
        ends = [k + 1 for k, t in enumerate(tokens) if t == eos]
        expected.append(tokens[:min([length[row], *ends])])
    count = [0] * len(ids)

    def stop(row: int, token: int) -> bool:
        count[row] += 1
        return token == eos or count[row] == length[row]

    sizes, handle = rows_per_step(model)
    try:
        mine = greedy(model, ids, mask, max_tokens, stop)
    finally:
        handle.remove()
    assert mine == expected
    steps = max(len(t) for t in expected)
    assert sizes == [sum(len(t) > step for t in expected) for step in range(steps)]
    assert sizes[-1] < sizes[0]  # rows really left the batch


def test_rows_leave_the_batch_and_keep_generate_s_tokens_on_a_random_llama(tiny_llama):
    ids = torch.tensor([[0, 0, 5, 6, 7], [1, 2, 3, 4, 5], [0, 9, 8, 7, 6], [0, 0, 0, 3, 3]])
    check_against_generate(tiny_llama, ids, (ids != 0).long())


def test_rows_leave_the_batch_and_keep_generate_s_tokens_on_gpt2(tiny_gpt2):
    ids = torch.tensor([[0, 0, 5, 6, 7], [1, 2, 3, 4, 5], [0, 9, 8, 7, 6]])
    check_against_generate(tiny_gpt2, ids, (ids != 0).long())


@pytest.fixture(scope="module")
def embedded(embedded_path):
    """(model, tokenizer) of the embedded default."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(embedded_path).eval(), AutoTokenizer.from_pretrained(embedded_path)




SHARED = [f"Complete the sentence with a few words, as a reader would expect. {p}" for p in PROMPTS]


def check_prefix_once(model, ids, mask, max_tokens=10):
    """Prompts that share a beginning: it runs once (the first forward pass has one row), and every
    row's tokens are those of the prompts run whole."""
    eos = model.generation_config.eos_token_id
    whole = greedy(model, ids, mask, max_tokens, lambda r, t: t == eos)
    prefix, rest, rest_mask = split_prefix(ids, mask)
    assert len(prefix) > 5
    assert rest.shape[1] < ids.shape[1]
    assert [prefix + r[m.bool()].tolist() for r, m in zip(rest, rest_mask, strict=True)] == \
        [r[m.bool()].tolist() for r, m in zip(ids, mask, strict=True)]  # nothing lost, nothing added
    sizes, handle = rows_per_step(model)
    try:
        shared = greedy(model, rest, rest_mask, max_tokens, lambda r, t: t == eos, prefix)
    finally:
        handle.remove()
    assert shared == whole
    assert sizes[:2] == [1, len(ids)]


# each model: generate's tokens with rows leaving the batch; a common beginning run once, the same tokens
CHECKS = pytest.mark.parametrize("check, prompts", [("generate", "PROMPTS"), ("prefix", "SHARED")])


def run_check(model, tokenizer, check: str, prompts: str, max_tokens: int) -> None:
    fn = {"generate": check_against_generate, "prefix": check_prefix_once}[check]
    fn(model, *left_padded(tokenizer, {"PROMPTS": PROMPTS, "SHARED": SHARED}[prompts]), max_tokens=max_tokens)


@CHECKS
def test_the_embedded_model_keeps_its_tokens(embedded, check, prompts):
    run_check(*embedded, check, prompts, max_tokens=12)


@pytest.mark.real
@CHECKS
def test_smollm2_keeps_its_tokens(smollm2, check, prompts):
    run_check(*smollm2, check, prompts, max_tokens=8)


def test_no_common_beginning_leaves_the_prompts_whole():
    ids = torch.tensor([[0, 5, 6], [7, 8, 9]])
    prefix, rest, mask = split_prefix(ids, (ids != 0).long())
    assert prefix == []
    assert rest.tolist() == [[0, 5, 6], [7, 8, 9]]
    assert mask.tolist() == [[0, 1, 1], [1, 1, 1]]


def test_no_tokens_asked_for_gives_empty_rows(tiny_llama):
    ids = torch.tensor([[1, 2, 3]])
    assert greedy(tiny_llama, ids, torch.ones_like(ids), 0, lambda r, t: False) == [[]]


class Tok:  # one character per token id: 0 = "\n", 1 = "a", 2 = " ", 3 = "b\n", 9 = end of turn
    table = {0: "\n", 1: "a", 2: " ", 3: "b\n", 9: ""}

    def decode(self, ids, skip_special_tokens=True):
        return "".join(self.table[int(i)] for i in ids)


def test_line_end_stops_after_text_not_at_a_leading_newline():
    stop = LineEnd(Tok(), rows=3, eos=9)
    rows = [[0, 1, 0], [1, 2, 0], [3]]
    # row 0: "\n" (leading: no stop), "a", "\n" after text -> stops at its third token; row 1: "a", " ",
    # "\n" -> third; row 2: "b\n": text and a line break in one token -> first
    assert [[stop(r, t) for t in tokens] for r, tokens in enumerate(rows)] == \
        [[False, False, True], [False, False, True], [True]]
    assert LineEnd(Tok(), 1, 9)(0, 9) is True  # end of turn
    assert LineEnd(Tok(), 1, None)(0, 9) is False  # no end-of-turn token: only line breaks stop


# --- stream: continuous batching -------------------------------------------------------------------

STREAM_PROMPTS = [[5, 6, 7], [1, 2, 3, 4, 5], [9, 8, 7, 6], [3, 3], [11, 12, 13, 14, 15, 16], [2], [7, 7, 7, 8],
                  [20, 21, 22]]


def each_alone(model, prompts, max_tokens, length):
    """Every prompt decoded on its own (one row), stopped after ``length[i]`` tokens. Each prompt counts
    its own tokens (a counter kept across calls, keyed by ``id(length)``, made this test flaky: a later
    ``length`` list can get a collected one's id and inherit its counts)."""
    out = []
    for i, p in enumerate(prompts):
        ids = torch.tensor([p])
        out += greedy(model, ids, torch.ones_like(ids), max_tokens, counter(length[i]))
    return out


def counter(n):
    """A stop rule that stops a one-row decode after its ``n``-th token."""
    seen = [0]

    def stop(row, token):
        seen[0] += 1
        return seen[0] >= n
    return stop


def check_stream(model, prompts, rows, max_tokens=9):
    """``stream``'s tokens are each prompt's own (decoded alone), no forward pass runs more than ``rows``
    rows, and prompts joined running rows (a pass over fewer rows than are running is a join)."""
    length = [2 + (3 * i) % 7 for i in range(len(prompts))]
    alone = each_alone(model, prompts, max_tokens, length)
    count = [0] * len(prompts)
    finished: list[int] = []

    def stop(i, t):
        count[i] += 1
        return count[i] >= length[i]

    sizes, handle = rows_per_step(model)
    try:
        mine = stream(model, prompts, max_tokens, stop, rows, pad=0, done=finished.append)
    finally:
        handle.remove()
    assert mine == alone, "stream's tokens differ from each prompt decoded alone"
    assert sorted(finished) == list(range(len(prompts))), "done() was not called once per prompt"
    assert max(sizes) <= rows, f"a pass ran {max(sizes)} rows, more than rows={rows}"
    return sizes


def test_stream_keeps_each_prompt_s_tokens_with_rows_joining(tiny_llama):
    sizes = check_stream(tiny_llama, STREAM_PROMPTS, rows=3)
    assert len(sizes) < sum(2 + (3 * i) % 7 for i in range(len(STREAM_PROMPTS))), "no row ran beside another"


def test_stream_keeps_each_prompt_s_tokens_on_gpt2_absolute_positions(tiny_gpt2):
    check_stream(tiny_gpt2, STREAM_PROMPTS, rows=4)


def test_stream_runs_a_common_beginning_once(tiny_llama):
    head = [4, 5, 6, 7, 8, 9]
    prompts = [head + p for p in STREAM_PROMPTS]
    sizes = check_stream(tiny_llama, prompts, rows=4)
    assert sizes[0] == 1, "the common beginning did not run once, in one row, first"


def test_stream_runs_a_sliding_window_model_batch_by_batch(tiny_gemma):
    from qxbench.engine.greedy import _joinable

    assert not _joinable(tiny_gemma)
    check_stream(tiny_gemma, STREAM_PROMPTS[:5], rows=2)


def test_stream_with_nothing_to_do(tiny_llama):
    assert stream(tiny_llama, [], 5, lambda i, t: False, 4, 0) == []
    assert stream(tiny_llama, [[1, 2]], 0, lambda i, t: False, 4, 0) == [[]]


@pytest.mark.parametrize("rows", [1, 2, 5])
def test_the_embedded_model_streams_its_own_tokens(embedded, rows):
    model, tokenizer = embedded
    prompts = [tokenizer(p).input_ids for p in SHARED]
    check_stream(model, prompts, rows=rows, max_tokens=10)
