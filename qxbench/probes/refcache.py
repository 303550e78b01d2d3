"""Full-precision attributions kept on disk, so that the configs of a sweep share their reference.

A quantized config's ``memorize`` needs the full-precision model's attribution of every prompt (its
top 300 and tau: overlap and surviving neurons). That attribution is the same for every config of a
sweep, and it is what the full-precision config computes as its own. So every full-precision
attribution (the ``quant=none`` run's own, or a reference's) is written here, and a reference reads
it back instead of computing it again.

An entry is one JSON file per prompt under ``$QXBENCH_HOME/attributions`` (default
``~/.cache/qxbench/attributions``), named by a hash of everything the attribution depends on: the
qxbench version, the checkpoint's fingerprint (its files' names, sizes and times), the compute dtype,
the token ids, the gold token and the memorize options. Files are written whole (a temporary file
renamed into place), so concurrent configs never read half an entry. Each result says whether its
reference came from here (``reference_cached`` in the logged sample). ``rm -r`` the folder to drop it.
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

from qxbench.probes.attribution import Attribution


def root() -> Path:
    return Path(os.environ.get("QXBENCH_HOME") or Path.home() / ".cache" / "qxbench") / "attributions"


def keys(identity: dict[str, Any], ids: Sequence[Sequence[int]], gold: Sequence[int]) -> list[str]:
    """One key per prompt: ``identity`` (version, fingerprint, dtype, options) with its ids and gold token."""
    base = json.dumps(identity, sort_keys=True, default=str)
    return [hashlib.sha256(json.dumps([base, list(i), int(g)]).encode()).hexdigest()[:32]
            for i, g in zip(ids, gold, strict=True)]


def _decode(data: dict[str, Any]) -> Attribution:
    return Attribution(**{**data, "top": [tuple(t) for t in data["top"]],
                          "at_least": {float(k): v for k, v in data["at_least"].items()}})


def load(keys_: Sequence[str]) -> list[Attribution | None]:
    """The stored attribution of each key, or None (absent or unreadable: computed again)."""
    out: list[Attribution | None] = []
    for key in keys_:
        try:
            out.append(_decode(json.loads((root() / f"{key}.json").read_text())))
        except (OSError, ValueError, TypeError, KeyError):
            out.append(None)
    return out


def store(keys_: Sequence[str], attributions: Sequence[Attribution]) -> None:
    """Write each attribution under its key. A folder that cannot be written is logged and skipped: it
    only saves time, and no result depends on it."""
    folder = root()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for key, a in zip(keys_, attributions, strict=True):
            data = {**asdict(a), "at_least": {repr(k): v for k, v in a.at_least.items()}}
            with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".tmp", delete=False) as f:
                json.dump(data, f)
            os.replace(f.name, folder / f"{key}.json")
    except OSError as err:
        logging.getLogger(__name__).warning("full-precision attributions not kept in %s: %s", folder, err)


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
