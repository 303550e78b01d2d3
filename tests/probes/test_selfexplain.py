from __future__ import annotations

import math

from lm_eval.api.instance import Instance

from qxbench.probes.metrics import nanmean
from qxbench.probes.selfexplain import argmax, insert_word, perplexities, runner_up


def test_runner_up_is_the_best_other_label():
    assert argmax([-3.0, -1.0, -2.0]) == 1
    assert runner_up([-3.0, -1.0, -2.0]) == 2
    assert runner_up([-1.0, -1.0]) == 1  # a tie: never the prediction itself


def test_insert_word_is_deterministic_and_inserts_one_word():
    text = "The soup was warm ."
    first = insert_word(text, ["dirty", "cold"])
    assert first == insert_word(text, ["dirty", "cold"])
    new, word = first
    assert word in ("dirty", "cold") and new.split(" ").count(word) == 1
    assert new.replace(word + " ", "", 1) == text or new == f"{text} {word}"


def test_perplexity_is_nan_for_an_empty_text_and_exp_of_mean_nll_otherwise():
    class Fake:
        def loglikelihood_rolling(self, requests: list[Instance], disable_tqdm: bool = False):
            return [-2.0 * len(r.args[0].split()) for r in requests]

        def tok_encode(self, text: str):
            return text.split()

    out = perplexities(Fake(), ["a b c", "", "   "])
    assert out[0] == math.exp(2.0) and math.isnan(out[1]) and math.isnan(out[2])


def test_nanmean_skips_undefined_values():
    assert nanmean([1.0, math.nan, 3.0]) == 2.0
    assert math.isnan(nanmean([math.nan])) and math.isnan(nanmean([]))
