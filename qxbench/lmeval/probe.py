"""Probe tasks: lm-eval tasks whose requests the ``qx`` model answers from its internals.

lm-eval's evaluator groups requests by ``Instance.request_type`` and calls
``getattr(lm, request_type)(requests)``. A probe task therefore subclasses :class:`ProbeTask`, sets
``REQUEST_TYPE`` (the name of a :class:`~qxbench.lmeval.adapter.QXLM` method) and builds the arguments
that method expects; ``process_results`` receives that method's answer for the document.

A probe's YAML names its class with ``class: !function utils.MyProbe``. lm-eval 0.4.13's task
factory passes that ``class`` key inside ``config``, which ``TaskConfig`` rejects; this base drops
it. The YAML still declares one of lm-eval's ``output_type`` values (it is validated), usually
``loglikelihood``; the request type actually sent is ``REQUEST_TYPE``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from lm_eval.api.instance import Instance
from lm_eval.api.task import ConfigurableTask

from qxbench.engine.chat import Chat
from qxbench.errors import QxError
from qxbench.probes.options import for_task


class ProbeTask(ConfigurableTask):
    REQUEST_TYPE: ClassVar[str] = ""

    def __init__(self, config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not self.REQUEST_TYPE:
            raise TypeError(f"{type(self).__name__} must set REQUEST_TYPE")
        config = {k: v for k, v in (config or {}).items() if k != "class"}
        if isinstance(config.get("metadata"), dict):  # entries scoped to a task by name (probes.options)
            config["metadata"] = for_task(config["metadata"], str(config.get("task", "")))
        super().__init__(config=config, **kwargs)
        # lm-eval pads the ranks of a data-parallel run per ``OUTPUT_TYPE``: the request type actually sent
        self.OUTPUT_TYPE = self.REQUEST_TYPE  # type: ignore[assignment]

    def build_all_requests(self, *args: Any, system_instruction: str | None = None,
                           apply_chat_template: bool = False, **kwargs: Any) -> None:
        """Remembers ``--apply_chat_template`` / ``--system_instruction``: every request carries them
        (as ``instance.chat``), because the model builds the probe's prompts itself."""
        self._chat = self.chat_settings(bool(apply_chat_template), system_instruction or None)
        # a model without a chat template: one line now, not lm-eval's traceback
        if apply_chat_template and self._chat.apply:
            self._chat.formatter(getattr(kwargs.get("chat_template"), "__self__", None))
        world = int(kwargs.get("world_size") or 1)
        if world > 1:  # data parallel: lm-eval stops a rank without documents with a traceback
            total = sum(1 for _ in self.doc_iterator(limit=kwargs.get("limit"), samples=kwargs.get("samples")))
            if total < world:
                raise QxError(f"{self.config.task}: {total} document(s) for {world} processes; each process needs at "
                              "least one (a larger --limit or fewer processes)")
        super().build_all_requests(*args, system_instruction=system_instruction,
                                   apply_chat_template=apply_chat_template, **kwargs)

    def chat_settings(self, apply: bool, system: str | None) -> Chat:
        """The chat settings every request carries; a probe may add its own option (explaintask)."""
        return Chat(apply, system)

    def probe_arguments(self, doc: dict, ctx: str) -> tuple:
        """The arguments tuple of one request; by default ``(ctx,)``. The first argument must be
        the request's prompt string: lm-eval hashes it into every logged sample."""
        return (ctx,)

    def construct_requests(self, doc: dict, ctx: Any, **kwargs: Any) -> Instance:
        kwargs.pop("apply_chat_template", None)
        kwargs.pop("chat_template", None)
        arguments = self.probe_arguments(doc, ctx)
        if not arguments or not isinstance(arguments[0], str):
            raise TypeError(f"{type(self).__name__}.probe_arguments must start with the prompt string")
        instance = Instance(request_type=self.REQUEST_TYPE, doc=doc, arguments=arguments, idx=0, **kwargs)
        instance.chat = getattr(self, "_chat", Chat())
        return instance
