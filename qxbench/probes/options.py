"""Probe options from lm-eval's ``--metadata``: the one rule every probe's options class follows, and
the rule that lets one run give each task its own: an entry whose value is an object applies only to
the task it names, over the entries given to all tasks.

    --metadata '{"data_path": "datasets/", "multihop_lre": {"data_path": "chains.csv"}}'
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from qxbench.engine.chat import Chat
from qxbench.errors import unknown
from qxbench.probes.insertion import POSITIONS, WORDS
from qxbench.probes.prompts import PromptSet


def known_options(metadata: Mapping[str, Any] | None, known: Collection[str], probe: str, *,
                  ignore: Collection[str] = (), cutoff: float = 0.8) -> dict[str, Any]:
    """The entries of ``metadata`` that are options of ``probe``. lm-eval's metadata also carries its
    own keys (version, data_path, ...) and the model args: those are skipped, but a near miss of an
    option name stops the run with a did-you-mean line (a typo would silently keep the default).
    ``ignore``: keys close to an option name that are never meant as it (``model`` vs ``mode``)."""
    out: dict[str, Any] = {}
    for key, value in (metadata or {}).items():
        if key in known:
            out[key] = value
        elif key not in ignore and difflib.get_close_matches(key, list(known), n=1, cutoff=cutoff):
            raise unknown(f"{probe} option", key, known)
    return out


def for_task(metadata: Mapping[str, Any] | None, task: str) -> dict[str, Any]:
    """``metadata`` as ``task`` sees it: the entries for every task, then those under its own name
    (an object); the objects under other names are left out."""
    shared = {k: v for k, v in (metadata or {}).items() if not isinstance(v, Mapping)}
    own = (metadata or {}).get(task)
    return shared | dict(own) if isinstance(own, Mapping) else shared


@dataclass(frozen=True)
class ExplainOptions:
    """What a ``cf_flip``/``nle_sim`` request carries besides its prompt and document: built once by the task
    (:meth:`qxbench.lmeval.explaintask.ExplainTask.request_options`, from its YAML and ``--metadata``), read by
    the model (:mod:`qxbench.lmeval.requests`). The defaults are stated here only (the real-data variants';
    the embedded world's YAML sets ``prompts: completion-0``).

    ``prompts``: the prompt set (:mod:`qxbench.probes.prompts`); ``demos``: its labelled demonstrations
    (normalised documents); ``insertion_words``/``insertion_positions``: the insertion test's candidate words
    per place and places per document (:mod:`qxbench.probes.insertion`); ``version``: the task's version
    (part of a resumed answer's key: never another version's answer)."""

    prompts: str = "instruct-1"
    demos: tuple[Mapping[str, Any], ...] = ()
    insertion_words: int = WORDS
    insertion_positions: int = POSITIONS
    version: str = ""

    # the request's third argument as lm-eval logs it and --use_cache keys it: these names (4.1's) kept
    WIRE = (("prompts", "prompts"), ("demos", "demos"), ("insertion_words", "insert_words"),
            ("insertion_positions", "insert_positions"), ("version", "version"))

    def as_args(self) -> dict[str, Any]:
        """The request's options argument (``args[2]``): plain JSON, the same bytes 4.1 logged."""
        values = {**asdict(self), "demos": [dict(d) for d in self.demos]}
        return {wire: values[name] for name, wire in self.WIRE}

    @classmethod
    def of(cls, args: Sequence[Any]) -> ExplainOptions:
        """A request's options (``args[2]``; a request without them has the defaults)."""
        given = args[2] if len(args) > 2 else {}
        values = {name: given[wire] for name, wire in cls.WIRE if wire in given}
        values["demos"] = tuple(values.get("demos", ()))
        for count in ("insertion_words", "insertion_positions"):
            if count in values:
                values[count] = int(values[count])
        return cls(**values)

    def prompt_set(self, chat: Chat | None = None) -> PromptSet:
        """The prompt set with its demonstrations, under the requests' ``chat`` settings (plain text: none)."""
        return PromptSet(self.prompts, self.demos, chat or Chat())
