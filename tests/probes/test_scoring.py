"""Labels and perplexities of the explanation probes through any lm-eval LM (qxbench.probes.scoring)."""

from __future__ import annotations

import math

import pytest
from lm_eval.api.instance import Instance

from qxbench.engine.chat import Chat
from qxbench.engine.choices import per_character
from qxbench.probes import scoring
from qxbench.probes.prompts import PromptSet
from qxbench.probes.scoring import argmax, classify, perplexities, runner_up
from tests.probes.fakes import Judge, Templated, esnli_doc


def test_runner_up_is_the_best_other_label():
    assert argmax([-3.0, -1.0, -2.0]) == 1
    assert runner_up([-3.0, -1.0, -2.0]) == 2
    assert runner_up([-1.0, -1.0]) == 1  # a tie: never the prediction itself


def test_perplexity_is_nan_for_an_empty_text_and_exp_of_mean_nll_otherwise():
    class Fake:
        def loglikelihood_rolling(self, requests: list[Instance], disable_tqdm: bool = False):
            return [-2.0 * len(r.args[0].split()) for r in requests]

        def tok_encode(self, text: str):
            return text.split()

    out = perplexities(Fake(), ["a b c", "", "   "])
    assert out[0] == math.exp(2.0)
    assert math.isnan(out[1])
    assert math.isnan(out[2])


class Lengthy(Judge):
    def loglikelihood(self, requests, disable_tqdm=False):
        return [(-1.0 * len(r.args[1]), False) for r in requests]  # log-likelihood proportional to length


def test_acc_norm_divides_by_the_choice_length_where_a_label_spans_several_tokens():
    doc = {**esnli_doc(), "choices": ["a", "bb bb bb"]}  # Judge's tokens are words: the second is 3 tokens
    raw = classify(Lengthy({}), [{**doc, "normalise": False}])[0]
    norm = classify(Lengthy({}), [doc])[0]
    assert argmax(raw) == 0
    assert norm[0] == pytest.approx(-2.0)
    assert norm[1] == pytest.approx(-9 / 8)


def test_single_token_labels_are_scored_by_their_plain_log_likelihood():
    """Every label one token: dividing by characters would only be a length prior (cf_flip/nle_sim 4.0)."""
    doc = {**esnli_doc(), "choices": ["a", "bbbbbbbb"]}  # one token each
    assert classify(Lengthy({}), [doc])[0] == [-2.0, -9.0]
    assert not per_character(Lengthy({}), "Relation:", ["a", "bbbbbbbb"])
    assert per_character(Lengthy({}), "Relation:", ["a", "not enough information"])

    class Paired(Lengthy):  # an lm-eval LM: the continuation's own tokens after the context
        def _encode_pair(self, context, continuation):
            return [1, 2], [7] * len(continuation.strip())

    assert per_character(Paired({}), "Relation:", ["a", "bb"])  # "bb" is two tokens here


def test_under_a_chat_template_the_answer_cue_follows_the_assistant_header():
    lm = Templated({"sleeps": "contradiction"})
    classify(lm, [esnli_doc()], prompts=PromptSet("instruct-1", chat=Chat(True)))
    assert lm.seen
    assert all(p.endswith("Answer with the label only.</user><assistant>Relation:") for p in lm.seen)
    plain = Templated({"sleeps": "contradiction"})
    classify(plain, [esnli_doc()], prompts=PromptSet("instruct-1"))  # the run did not ask for the template
    assert plain.seen
    assert all(p == PromptSet("instruct-1").classify(esnli_doc()) for p in plain.seen)
    old = Templated({})
    classify(old, [esnli_doc()], prompts=PromptSet("completion-0", chat=Chat(True)))  # the earlier templates
    assert old.seen
    assert all(p.endswith("Relation:</user><assistant>") for p in old.seen)


class Batches(Judge):
    """A qx-like LM (``choice_loglikelihoods``) whose labels depend on the batch size it is asked for."""

    batch_size = "4"

    def __init__(self, *a, **k) -> None:
        super().__init__(*a, **k)
        self.sizes = []

    def choice_loglikelihoods(self, contexts, choices, groups=None, batch_size=None):
        self.sizes.append(batch_size)
        flip = batch_size == 6  # the second composition sees another label, as bnb-int8 may
        return [[-5.0 if (c.strip() == "contradiction") != flip else 0.0 for c in cs] for cs in choices]


def test_labels_again_classify_the_inputs_in_a_second_batch_composition():
    lm = Batches({"sleeps": "contradiction"})
    docs = [esnli_doc(), esnli_doc("A man sings."), *(esnli_doc(f"A man sings {k}.") for k in range(3))]
    again = scoring.labels_again(lm, docs, PromptSet("instruct-1"))
    assert lm.sizes == [6]  # more documents than a batch (4): half as many again as the run's batch size
    assert len(again) == 5
    first = scoring.classify(lm, docs, prompts=PromptSet("instruct-1"))
    assert [scoring.argmax(s) for s in first] != again
    assert lm.sizes[-1] is None  # the run's own batch size
    assert scoring.labels_again(Judge({}), docs[:2], PromptSet("instruct-1")) == [None, None]  # another LM
    assert scoring.labels_again(lm, docs[:1], PromptSet("instruct-1")) == [None]  # one document: no other


def test_labels_again_split_a_single_batch_in_two():
    lm = Batches({"sleeps": "contradiction"})
    lm.batch_size = "32"  # every document fits the first batch: the same batch again would compute the same
    scoring.labels_again(lm, [esnli_doc(), esnli_doc("A man sings."), esnli_doc("A cat.")], PromptSet("instruct-1"))
    assert lm.sizes == [1]
