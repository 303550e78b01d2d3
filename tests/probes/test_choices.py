"""The shared-prompt choice scorer equals lm-eval's loglikelihood (up to float rounding)."""

from __future__ import annotations

import pytest
from lm_eval.api.instance import Instance


@pytest.fixture(scope="module")
def lm():
    from qxbench.adapter import QXLM

    return QXLM(device="cpu", batch_size=4)


def test_choices_scored_once_per_prompt_equal_lm_evals_loglikelihood(lm):
    contexts = ["Review: The soup was warm.\nSentiment:", "Review: I stayed in Zounpur. The bath was dirty.\nSentiment:",
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
    from qxbench.probes.choices import common_prefix

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
    assert rows[0][0] == 1 and rows[0][1] >= shared  # stage 0: one row holding the instruction
    assert all(r[1] < rows[0][1] for r in rows[1:3])  # the documents' own parts only
