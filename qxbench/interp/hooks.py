"""A probe's forward hooks, written once: registered together and all removed in ``finally`` (:func:`hooks`;
lm-eval's ``models/hf_steered.py`` and TransformerLens' hook context manager do the same). Whether the model's
forward takes ``logits_to_keep`` is :func:`qxbench.engine.forward.accepts_logits_to_keep`.

    with hooks([Hook(block, record), Hook(head, contiguous, pre=True)]):
        model(input_ids=ids, **({"logits_to_keep": 1} if accepts_logits_to_keep(model) else {}))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.hooks import RemovableHandle


@dataclass(frozen=True)
class Hook:
    """``fn`` on ``module``'s output (``register_forward_hook``); ``pre``: on its input
    (``register_forward_pre_hook``); ``with_kwargs``: ``fn`` also gets (and a pre hook may return) the
    keyword arguments, as torch's own flag."""

    module: torch.nn.Module
    fn: Callable[..., Any]
    pre: bool = False
    with_kwargs: bool = False

    def register(self) -> RemovableHandle:
        if self.pre:
            return self.module.register_forward_pre_hook(self.fn, with_kwargs=self.with_kwargs)
        return self.module.register_forward_hook(self.fn, with_kwargs=self.with_kwargs)


@contextmanager
def hooks(specs: Iterable[Hook]) -> Iterator[None]:
    """Register each hook in order (``specs`` is read inside the ``try``: a registration that fails leaves
    none of those before it behind), run the body, and remove every registered hook in ``finally``, also
    when the body raises."""
    handles: list[RemovableHandle] = []
    try:
        for spec in specs:
            handles.append(spec.register())
        yield
    finally:
        for handle in handles:
            handle.remove()

