"""Probe options from lm-eval's ``--metadata``: the one rule every probe's options class follows, and
the rule that lets one run give each task its own: an entry whose value is an object applies only to
the task it names, over the entries given to all tasks.

    --metadata '{"data_path": "datasets/", "multihop_lre": {"data_path": "chains.csv"}}'
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from typing import Any

from qxbench.errors import unknown


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
