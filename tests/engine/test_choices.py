"""The shared-prompt choice scorer equals lm-eval's loglikelihood (up to float rounding)."""

from __future__ import annotations

import pytest
import torch
from lm_eval.api.instance import Instance


@pytest.fixture(scope="module")
def lm():
    from qxbench.lmeval.adapter import QXLM

    return QXLM(device="cpu", batch_size=4)


def test_choices_scored_once_per_prompt_equal_lm_evals_loglikelihood(lm):
    contexts = ["Review: The soup was warm.\nSentiment:",
                "Review: I stayed in Zounpur. The bath was dirty.\nSentiment:",
                "Premise: A man sleeps.\nHypothesis: A man is awake.\nRelation:"]
    choices = [[" negative", " positive"], [" negative", " positive", " not enough information"],
               [" entailment", " neutral", " contradiction"]]
    got = lm.choice_loglikelihoods(contexts, choices)
    args = [(c, x) for c, xs in zip(contexts, choices, strict=True) for x in xs]
    want = [ll for ll, _ in lm.loglikelihood([Instance("loglikelihood", {}, a, 0) for a in args], disable_tqdm=True)]
    flat = [v for row in got for v in row]
    assert flat == pytest.approx(want, abs=1e-3)
    assert [max(range(len(r)), key=r.__getitem__) for r in got] == [
        max(range(k, k + len(xs)), key=want.__getitem__) - k
        for k, xs in zip([0, 2, 5], choices, strict=True)]  # the same argmax


def test_variants_sharing_a_prompt_beginning_score_as_on_their_own(lm):
    head = "Premise: A man plays a guitar on a stage in front of a crowd.\nHypothesis: "
    contexts = [f"{head}A man {w}plays music.\nRelation:" for w in ("", "really ", "very old ")]
    contexts.append("Review: The soup was warm.\nSentiment:")
    choices = [[" entailment", " neutral", " contradiction"]] * 3 + [[" negative", " positive"]]
    shared = lm.choice_loglikelihoods(contexts, choices, groups=[0, 0, 0, 1])
    alone = lm.choice_loglikelihoods(contexts, choices)
    assert [v for r in shared for v in r] == pytest.approx([v for r in alone for v in r], abs=1e-3)


def test_common_prefix_leaves_every_row_a_token():
    from qxbench.engine.choices import common_prefix

    assert common_prefix([[1, 2, 3, 4], [1, 2, 5]]) == 2
    assert common_prefix([[1, 2, 3], [1, 2, 3]]) == 2  # identical rows: each keeps its last token
    assert common_prefix([[7], [7, 8]]) == 0


def test_a_batch_s_common_beginning_runs_once_and_scores_as_lm_eval(lm):
    """The documents of a task share their instruction: it runs once per batch (one row first), and the
    scores still equal lm-eval's; the batches are sorted by length, the results come back in order."""
    head = "Classify the sentiment of the travel review. The labels are: negative, positive.\n\nReview: "
    texts = ["The soup was warm.", "I stayed in Zounpur in summer and the bath was very dirty indeed.", "Bad.",
             "The music seemed small."]
    contexts = [f"{head}{t}\nSentiment:" for t in texts]
    choices = [[" negative", " positive"]] * len(texts)
    rows: list[tuple[int, int]] = []
    handle = lm.model.register_forward_pre_hook(lambda _m, _a, kw: rows.append(tuple(kw["input_ids"].shape)),
                                                with_kwargs=True)
    try:
        got = lm.choice_loglikelihoods(contexts, choices)
    finally:
        handle.remove()
    args = [(c, x) for c, xs in zip(contexts, choices, strict=True) for x in xs]
    want = [ll for ll, _ in lm.loglikelihood([Instance("loglikelihood", {}, a, 0) for a in args], disable_tqdm=True)]
    assert [v for r in got for v in r] == pytest.approx(want, abs=1e-3)
    shared = len(lm.tok_encode(head.rstrip())) - 2  # about the head's tokens, whatever the tokenizer's merges
    assert rows[0][0] == 1
    assert rows[0][1] >= shared  # stage 0: one row holding the instruction
    assert all(r[1] < rows[0][1] for r in rows[1:3])  # the documents' own parts only


# -- stages 2 and 3 in one row per group (a 4D mask) -------------------------------------------------
QUESTION = ('Answer the commonsense question with one of its options. The labels are: "bank", "department store", '
            '"new york city", "mall", "library".\n\nQuestion: ')
OPTIONS = [" bank", " department store", " new york city", " mall", " library"]


def tree_case():
    """Three variants of a question with multi-token options (one group), and two contexts alone."""
    contexts = [f"{QUESTION}Where would you {w}find a cash register?\nAnswer:" for w in ("", "really ", "very old ")]
    contexts += ["Premise: A man sleeps.\nHypothesis: A man is awake.\nRelation:", "Review: good.\nSentiment:"]
    choices = [OPTIONS] * 3 + [[" entailment", " neutral", " contradiction"], [" negative", " not enough information"]]
    return contexts, choices, [0, 0, 0, 1, 2]


def forward_calls(model):
    """Forward pre-hook recording (rows, tokens, the attention mask's dimensions) of every pass (removed by
    the caller)."""
    calls: list[tuple[int, int, int]] = []
    handle = model.register_forward_pre_hook(
        lambda _m, _a, kw: calls.append((*kw["input_ids"].shape, kw["attention_mask"].dim())), with_kwargs=True)
    return calls, handle


def lm_eval_scores(lm, contexts, choices):
    args = [(c, x) for c, xs in zip(contexts, choices, strict=True) for x in xs]
    return [ll for ll, _ in lm.loglikelihood([Instance("loglikelihood", {}, a, 0) for a in args], disable_tqdm=True)]


def test_a_group_s_contexts_and_their_choices_run_in_one_row_and_score_as_lm_eval(lm):
    """One document's variants and every choice's tokens after the first share one row of a 4D-masked
    pass: no copy of the cache per variant or per choice, and lm-eval's scores."""
    contexts, choices, groups = tree_case()
    calls, handle = forward_calls(lm.model)
    try:
        got = lm.choice_loglikelihoods(contexts, choices, groups=groups)
    finally:
        handle.remove()
    assert [v for r in got for v in r] == pytest.approx(lm_eval_scores(lm, contexts, choices), abs=1e-3)
    trees = [c for c in calls if c[2] == 4]
    assert trees
    assert sum(rows for rows, _, _ in trees) == 3  # the three groups, one row each
    assert max(rows for rows, _, _ in calls) == 3  # no pass holds a row per variant or per choice


def test_on_other_architectures_copies_of_the_cache_score_the_same(lm, monkeypatch):
    from qxbench.engine import choices as module

    contexts, choices, groups = tree_case()
    tree = lm.choice_loglikelihoods(contexts, choices, groups=groups)
    monkeypatch.setattr(module, "TREE_TYPES", ())  # an architecture not known to read a 4D mask as given
    calls, handle = forward_calls(lm.model)
    try:
        copies = lm.choice_loglikelihoods(contexts, choices, groups=groups)
    finally:
        handle.remove()
    assert not [c for c in calls if c[2] == 4]
    assert max(rows for rows, _, _ in calls) == sum(map(len, choices))  # stage 3: a copy per (context, choice)
    assert [v for r in copies for v in r] == pytest.approx([v for r in tree for v in r], abs=1e-4)


def test_the_one_row_pass_stays_within_a_sliding_window():
    """Gemma 3's sliding layers see 512 tokens: a longer row would need their mask, so it takes copies."""
    from types import SimpleNamespace

    from qxbench.engine.choices import _Run

    run = object.__new__(_Run)
    run.mask = torch.ones((2, 500))
    for window, width, fits in ((None, 100, True), (512, 11, True), (512, 12, False)):
        run.model = SimpleNamespace(config=SimpleNamespace(model_type="gemma3_text", _attn_implementation="sdpa",
                                                           sliding_window=window))
        assert run.fits_tree(width) is fits
    run.model.config._attn_implementation = "eager"
    assert not run.fits_tree(1)


def alone(model, ids: list[int], cont: list[int]) -> float:
    """log p(cont | ids): the whole sequence in one unpadded forward pass."""
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=torch.tensor([ids + cont])).logits[0].float(), -1)
    return float(sum(logp[len(ids) + j - 1, t] for j, t in enumerate(cont)))


@pytest.mark.real
@pytest.mark.parametrize("name", ["smollm2", "gemma3", "qwen05"])
def test_real_models_score_the_one_row_pass_as_each_sequence_alone(name, request):
    """SmolLM2 (Llama), Gemma 3 (sliding-window layers, 4 query heads per key) and Qwen2.5 (biases on q/k/v,
    7 query heads per key): the 4D-masked pass equals each (context, choice) run alone, and it is the pass taken."""
    from qxbench.engine.choices import _batch, common_prefix

    model, tokenizer = request.getfixturevalue(name)
    contexts, choices, groups = tree_case()
    encode = [tokenizer(c, add_special_tokens=False).input_ids for c in contexts]
    conts = [[tokenizer(c + x, add_special_tokens=False).input_ids[len(e):] for x in xs]
             for c, e, xs in zip(contexts, encode, choices, strict=True)]
    shaped = []
    for g in sorted(set(groups)):
        members = [i for i, k in enumerate(groups) if k == g]
        k = common_prefix([encode[i] for i in members]) if len(members) > 1 else len(encode[members[0]]) - 1
        shaped.append((encode[members[0]][:k], [(encode[i][k:], conts[i]) for i in members]))
    calls, handle = forward_calls(model)
    try:
        got = _batch(model, shaped, tokenizer.pad_token_id or 0)
    finally:
        handle.remove()
    want = [[alone(model, e, c) for c in cs] for e, cs in zip(encode, conts, strict=True)]
    assert [v for r in got for v in r] == pytest.approx([v for r in want for v in r], abs=2e-3)
    assert [c for c in calls if c[2] == 4]


def test_each_batch_scored_advances_the_open_phase(lm):
    from qxbench import progress

    contexts = [f"Review: The soup was {w}.\nSentiment:" for w in ("warm", "cold", "fine", "bland", "salty")]
    choices = [[" negative", " positive"]] * len(contexts)
    seen = []
    with progress.phase("classify", len(contexts), requests=2 * len(contexts)) as bar:
        original = bar.request_answered
        bar.request_answered = lambda n=1: (seen.append(n), original(n))  # type: ignore[method-assign]
        lm.choice_loglikelihoods(contexts, choices, batch_size=2)
        before_close = bar.bar.n
    assert seen == [4, 4, 2]  # three batches of 2, 2 and 1 contexts, two choices each
    assert before_close == len(contexts)  # the bar is full before the phase closes
