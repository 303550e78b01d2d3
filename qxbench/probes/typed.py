"""Typed probe requests: what each request type of the ``qx`` model carries, read once.

lm-eval hands the model its ``Instance`` s; their ``args`` tuple is the wire format (lm-eval logs it with every
sample and ``--use_cache`` keys answers by it), so it stays as the tasks build it
(:meth:`qxbench.lmeval.probe.ProbeTask.probe_arguments`). Each request type reads it here, in one place, into
a frozen dataclass (:meth:`read`), and the probes take only these: no position in a tuple, no default stated
twice (each options class states its own). ``group`` is what requests must share to be answered together
(their options and chat settings).

    qx_counterfactual, qx_explain   (prompt, doc[, options])          -> ExplainRequest
    qx_memorize                     (prompt, answer[, options])       -> MemorizeRequest
    qx_multihop                     (prompt, row)                     -> MultiHopRequest
    qx_next_token                   (prompt, gold, choices[, options]) -> NextTokenRequest
    qx_neurons                      (text[, options])                 -> NeuronsRequest
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qxbench.engine.chat import Chat
from qxbench.probes.attribution import AttributionOptions
from qxbench.probes.neurons import NeuronOptions
from qxbench.probes.nexttoken import NextTokenOptions
from qxbench.probes.options import ExplainOptions

__all__ = ["ExplainRequest", "MemorizeRequest", "MultiHopRequest", "NextTokenRequest", "NeuronsRequest"]


def _arg(args: Sequence[Any], index: int) -> Any:
    """The optional argument at ``index`` (None where the request has none: its options' defaults)."""
    return args[index] if len(args) > index else None


def _chat(instance: Any) -> Chat:
    """The chat settings the task attached (:meth:`qxbench.lmeval.probe.ProbeTask.construct_requests`)."""
    return getattr(instance, "chat", None) or Chat()


@dataclass(frozen=True)
class ExplainRequest:
    """A cf_flip (``qx_counterfactual``) or nle_sim (``qx_explain``) request: the classification prompt, the
    normalised document (:mod:`qxbench.data.classify`) and the task's options."""

    prompt: str
    doc: Mapping[str, Any]
    options: ExplainOptions
    chat: Chat

    @classmethod
    def read(cls, instance: Any) -> ExplainRequest:
        args = instance.args
        return cls(args[0], args[1], ExplainOptions.of(args), _chat(instance))

    @property
    def group(self) -> tuple[str, Chat]:
        return json.dumps(self.options.as_args(), sort_keys=True, default=str), self.chat


@dataclass(frozen=True)
class MemorizeRequest:
    """A memorize request: the fact's prompt, its gold object and the attribution's options."""

    prompt: str
    answer: str
    options: AttributionOptions
    chat: Chat

    @classmethod
    def read(cls, instance: Any) -> MemorizeRequest:
        args = instance.args
        return cls(args[0], args[1], AttributionOptions.from_metadata(_arg(args, 2)), _chat(instance))

    @property
    def group(self) -> tuple[AttributionOptions, Chat]:
        return self.options, self.chat


@dataclass(frozen=True)
class MultiHopRequest:
    """A multihop request: the TwoHopFact row (its prompts and entities by column name)."""

    prompt: str
    row: Mapping[str, Any]
    chat: Chat

    @classmethod
    def read(cls, instance: Any) -> MultiHopRequest:
        return cls(instance.args[0], instance.args[1], _chat(instance))


@dataclass(frozen=True)
class NextTokenRequest:
    """A calib request: the prompt, the gold answer, the answer options (``mode=choices``) and the options."""

    prompt: str
    gold: str
    choices: tuple[str, ...]
    options: NextTokenOptions
    chat: Chat

    @classmethod
    def read(cls, instance: Any) -> NextTokenRequest:
        args = instance.args
        return cls(args[0], args[1], tuple(args[2]), NextTokenOptions.from_metadata(_arg(args, 3)), _chat(instance))

    @property
    def group(self) -> tuple[NextTokenOptions, Chat]:
        return self.options, self.chat


@dataclass(frozen=True)
class NeuronsRequest:
    """A neurons request: one corpus text; its task and document id (corpus statistics are per task)."""

    text: str
    options: NeuronOptions
    task: str
    doc_id: int | None

    @classmethod
    def read(cls, instance: Any) -> NeuronsRequest:
        args = instance.args
        return cls(args[0], NeuronOptions.from_metadata(_arg(args, 1)), str(getattr(instance, "task_name", "") or ""),
                   getattr(instance, "doc_id", None))

    @property
    def group(self) -> tuple[str, NeuronOptions]:
        return self.task, self.options
