"""lm-eval Instances a probe sends outside any task: one per arguments tuple, in order."""

from __future__ import annotations

from lm_eval.api.instance import Instance

from qxbench.lmeval.calls import instances


def test_one_instance_per_arguments_tuple_in_order():
    args = [("Review: fine.\nSentiment:", " positive"), ("Review: dull.\nSentiment:", " negative")]
    out = instances("loglikelihood", args)
    assert all(isinstance(i, Instance) for i in out)
    assert [i.args for i in out] == args, "the arguments did not reach lm-eval unchanged and in order"
    assert {i.request_type for i in out} == {"loglikelihood"}


def test_an_instance_belongs_to_no_document():
    (one,) = instances("loglikelihood_rolling", [("Some text.",)])
    assert one.doc == {}
    assert one.idx == 0
    assert instances("loglikelihood", []) == []
