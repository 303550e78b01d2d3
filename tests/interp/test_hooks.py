"""The one hook context manager (qxbench.interp.hooks): every hook fires inside, none is left outside,
also when the body or a registration raises."""

from __future__ import annotations

import pytest
import torch

from qxbench.interp.hooks import Hook, hooks


def _hook_count(module: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in module.modules())


def _model() -> torch.nn.Sequential:
    return torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())


def test_every_hook_fires_inside_and_none_is_left_after():
    model, seen = _model(), []
    specs = [Hook(model[0], lambda _m, _args: seen.append("pre"), pre=True),
             Hook(model[0], lambda _m, _args, _out: seen.append("post")),
             Hook(model[1], lambda _m, _args, _kwargs: seen.append("pre, kwargs"), pre=True, with_kwargs=True),
             Hook(model[1], lambda _m, _args, _kwargs, out: seen.append("post, kwargs") or out * 0, with_kwargs=True)]
    with hooks(specs):
        assert _hook_count(model) == 4
        out = model(torch.ones(1, 2))
    assert seen == ["pre", "post", "pre, kwargs", "post, kwargs"]
    assert torch.equal(out, torch.zeros(1, 2))
    assert _hook_count(model) == 0
    model(torch.ones(1, 2))
    assert len(seen) == 4


def test_hooks_are_removed_when_the_body_raises():
    model = _model()
    with pytest.raises(RuntimeError, match="boom"), hooks([Hook(model[0], lambda *_: None),
                                                             Hook(model[1], lambda *_: None, pre=True)]):
        assert _hook_count(model) == 2
        raise RuntimeError("boom")
    assert _hook_count(model) == 0


def test_a_registration_that_fails_leaves_none_of_those_before_it():
    model = _model()

    def specs():
        yield Hook(model[0], lambda *_: None)
        raise ValueError("no such module")

    with pytest.raises(ValueError, match="no such module"), hooks(specs()):
        pass
    assert _hook_count(model) == 0

