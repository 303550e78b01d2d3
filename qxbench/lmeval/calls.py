"""Requests a probe sends through lm-eval's LM interface (``loglikelihood``, ``loglikelihood_rolling``), to any
lm-eval LM, as lm-eval's own :class:`~lm_eval.api.instance.Instance` s. The one module of :mod:`qxbench.lmeval`
the probes import (:mod:`qxbench.probes.scoring`); it imports lm-eval only."""

from __future__ import annotations

from collections.abc import Sequence

from lm_eval.api.instance import Instance


def instances(kind: str, args: Sequence[tuple]) -> list[Instance]:
    """One ``kind`` request per arguments tuple, outside any task (no document, index 0)."""
    return [Instance(request_type=kind, doc={}, arguments=a, idx=0) for a in args]
