"""Protocol 3's answer types keep 3.x's fields, nothing invented: what the migration reads into."""

from __future__ import annotations

import dataclasses

import pytest

from qxbench.probes.legacy import Counterfactual3, Explanation3
from qxbench.probes.selfexplain import Inserted


def _names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def test_the_fields_are_protocol_3_s():
    assert _names(Counterfactual3) == ["pred", "target", "rewrite", "rewrite_pred", "ppl", "ref_ppl", "ref_pred",
                                       "ref_rewrite_pred", "prompts"]
    assert _names(Explanation3) == ["pred", "explanation", "inserted", "inserted_pred", "inserted_explanation",
                                    "insertions", "prompts"]


def test_fields_3_x_did_not_always_log_have_their_defaults():
    cf = Counterfactual3(pred=1, target=0, rewrite="x", rewrite_pred=0, ppl=3.0, ref_ppl=None)
    assert (cf.ref_pred, cf.ref_rewrite_pred) == (None, None), "a run without a reference got reference labels"
    assert cf.prompts == "completion-0"
    ex = Explanation3(pred=1, explanation="e", inserted="w", inserted_pred=0, inserted_explanation="")
    assert ex.insertions == ()
    assert ex.prompts == "completion-0"


def test_a_read_answer_cannot_be_changed():
    ex = Explanation3(1, "e", "w", 0, "", (Inserted("w", 2, 0, None),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ex.pred = 0  # type: ignore[misc]
