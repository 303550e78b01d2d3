"""Full-precision results kept on disk, so that the configs of a sweep share their reference.

A quantized config compares against the full-precision model's results on the same inputs, which are
the same for every config of a sweep and are what the full-precision config computes as its own. So
they are written here when computed and read back by a reference instead of computed again:

- ``attributions``: ``memorize``'s attribution of every prompt (its top 300 and tau: overlap and
  surviving neurons); each logged sample says whether its reference came from here (``reference_cached``).
- ``labels``: ``cf_flip``'s classification scores of every input (``flip_rate_ref``'s judge labels the
  input and the rewrite; the input is the same for every config, the rewrite is not:
  :func:`qxbench.probes.selfexplain.counterfactuals`).

An entry is one JSON file per prompt under ``$QXBENCH_HOME/<kind>`` (default
``~/.cache/qxbench/<kind>``), named by a hash of everything the result depends on: the qxbench
version, the checkpoint's fingerprint (its files' names, sizes and times), the compute dtype and the
exact input (token ids and gold token with the memorize options; the formatted prompt and its choices).
Files are written whole (a temporary file renamed into place), so concurrent configs never read half
an entry. ``rm -r`` the folder to drop it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from qxbench.home import home
from qxbench.probes.attribution import Attribution


def root(kind: str = "attributions") -> Path:
    return home() / kind


def key(identity: dict[str, Any], entry: Any) -> str:
    """One entry's file name: a hash of ``identity`` and the entry's own input (JSON-serialisable)."""
    base = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(json.dumps([base, entry]).encode()).hexdigest()[:32]


def keys(identity: dict[str, Any], ids: Sequence[Sequence[int]], gold: Sequence[int]) -> list[str]:
    """One key per prompt: ``identity`` (version, fingerprint, dtype, options) with its ids and gold token."""
    return [key(identity, [list(i), int(g)]) for i, g in zip(ids, gold, strict=True)]


def _decode(data: dict[str, Any]) -> Attribution:
    return Attribution(**{**data, "top": [tuple(t) for t in data["top"]],
                          "at_least": {float(k): v for k, v in data["at_least"].items()}})


def read(kind: str, keys_: Sequence[str]) -> list[Any | None]:
    """The stored JSON value of each key, or None (absent or unreadable: computed again)."""
    out: list[Any | None] = []
    for k in keys_:
        try:
            out.append(json.loads((root(kind) / f"{k}.json").read_text()))
        except (OSError, ValueError):
            out.append(None)
    return out


def write(kind: str, keys_: Sequence[str], values: Sequence[Any]) -> None:
    """Write each JSON value under its key. A folder that cannot be written is logged and skipped: it
    only saves time, and no result depends on it."""
    folder = root(kind)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for k, value in zip(keys_, values, strict=True):
            with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".tmp", delete=False) as f:
                json.dump(value, f)
            os.replace(f.name, folder / f"{k}.json")
    except OSError as err:
        logging.getLogger(__name__).warning("full-precision %s not kept in %s: %s", kind, folder, err)


def load(keys_: Sequence[str]) -> list[Attribution | None]:
    """The stored attribution of each key, or None (absent or unreadable: computed again)."""
    out: list[Attribution | None] = []
    for data in read("attributions", keys_):
        try:
            out.append(None if data is None else _decode(data))
        except (ValueError, TypeError, KeyError, AttributeError):
            out.append(None)
    return out


def store(keys_: Sequence[str], attributions: Sequence[Attribution]) -> None:
    write("attributions", keys_, [{**asdict(a), "at_least": {repr(k): v for k, v in a.at_least.items()}}
                                  for a in attributions])


def cached(identity: dict[str, Any], ids: Sequence[Sequence[int]], gold: Sequence[int], read: bool,
           compute: Callable[[list[int]], list[Attribution]]) -> tuple[list[Attribution], list[bool]]:
    """Each prompt's full-precision attribution: read back (``read``) where stored, else computed by ``compute``
    (given the prompts' indices) and stored; and whether each one was read back."""
    keys_ = keys(identity, ids, gold)
    found = load(keys_) if read else [None] * len(keys_)
    missing = [i for i, a in enumerate(found) if a is None]
    if missing:
        computed = compute(missing)
        store([keys_[i] for i in missing], computed)
        for i, a in zip(missing, computed, strict=True):
            found[i] = a
    hits = set(range(len(keys_))) - set(missing)
    return [a for a in found if a is not None], [i in hits for i in range(len(keys_))]
