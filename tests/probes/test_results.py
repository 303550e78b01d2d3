"""The answers that are not explanations: what a memorize answer logs (the fields it logged before
schema 1, read off its attribution) and a free calib answer's defaults. The round trip of every record:
test_logged.py."""

from __future__ import annotations

import json
import math

from qxbench.probes.attribution import Attribution
from qxbench.probes.results import MemorizeLog, MemorizeResult, NextToken


def _attribution(top: list) -> Attribution:
    return Attribution(target=5, gold=7, gold_logprob=-0.25, gold_rank=2, attn_imp=[0.5, 1.0], ffn_imp=[0.1, 0.2],
                       top=top, at_least={0.4: 2}, at_tau=2, scored=64)


def test_memorize_logs_each_field_from_its_own_source():
    result = MemorizeResult("Paris", _attribution([[1, 3, 0.9], [0, 2, 0.4]]), 12, 0.5, {"norm": "fixed"}, True)
    assert result.logged() == MemorizeLog(
        completion="Paris", surviving=12, overlap=0.5, options={"norm": "fixed"}, reference_cached=True, target=5,
        gold=7, gold_logprob=-0.25, gold_rank=2, attn_imp=[0.5, 1.0], ffn_imp=[0.1, 0.2], tau=0.4,
        top300=[(1, 3, 0.9), (0, 2, 0.4)], scored=64)


def test_memorize_logs_neurons_as_tuples_and_tau_nan_without_neurons():
    logged = MemorizeResult("Rome", _attribution([[1, 3, 0.9]]), None, None, {}).logged()
    assert all(type(t) is tuple for t in logged.top300), "the top-300 entries are not (layer, neuron, score) tuples"
    empty = MemorizeResult("Rome", _attribution([]), None, None, {}).logged()
    assert empty.top300 == []
    assert math.isnan(empty.tau)
    assert empty.reference_cached is None, "an answer without a reference claims a cached reference"


def test_the_log_leaves_out_what_memorize_did_not_log_before():
    memorize = json.loads(str(MemorizeResult("Paris", _attribution([[1, 3, 0.9]]), 1, 1.0, {}, False)))["value"]
    assert "at_least" not in memorize, "the per-threshold counts of the attribution reached the log"
    assert "at_tau" not in memorize


def test_a_free_answer_has_no_choice_probabilities():
    answer = NextToken("free", " yes", 9, 0.75, True, {"mode": "free"})
    assert answer.choice_probs == ()
    assert json.loads(str(answer))["value"]["choice_probs"] == []
