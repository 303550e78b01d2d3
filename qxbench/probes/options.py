"""Probe options from lm-eval's ``--metadata``: the one rule every probe's options class follows."""

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
