"""``--use_cache`` for the probe request types: answers are kept per document, so a run that was
interrupted resumes where it stopped.

lm-eval's ``CachingLM`` caches only its own request types (``loglikelihood``, ``generate_until``,
``loglikelihood_rolling``) and hands every other attribute to the model unchanged; it does give the
model its database (``lm.cache_hook.dbdict``). Each probe request type therefore looks its documents up
there itself, under a key made of

* the request type and the request's arguments (prompt, document, the probe options from ``--metadata``),
* the chat settings (``--apply_chat_template``, ``--system_instruction``),
* the model's identity (:meth:`qxbench.adapter.QXLM.cache_identity`: checkpoint content, quantization
  config, reference model, qxbench version),

so a different model, config or option never reads another's entry. Missing documents are answered in
chunks and each chunk is stored as soon as it is done. Request types whose answers depend on the other
documents (the neurons probe's corpus statistics) are answered whole, keyed by the whole group.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import asdict, is_dataclass
from typing import Any

from qxbench import distributed, progress

PREFIX = "qxbench-probe:"


def store(lm: Any) -> MutableMapping[str, Any] | None:
    """The ``--use_cache`` database lm-eval gave the model, or None without ``--use_cache``."""
    return getattr(getattr(lm, "cache_hook", None), "dbdict", None)


def _plain(value: Any) -> Any:
    return asdict(value) if is_dataclass(value) and not isinstance(value, type) else str(value)


def key(identity: dict[str, Any], request_type: str, request: Any, group: str = "") -> str:
    chat = getattr(request, "chat", None)
    text = json.dumps([identity, request_type, list(request.args), _plain(chat) if chat else None, group],
                      sort_keys=True, default=_plain)
    return PREFIX + hashlib.sha256(text.encode()).hexdigest()


def _commit(db: MutableMapping[str, Any]) -> None:
    commit = getattr(db, "commit", None)
    if commit is not None:
        commit()


def answer(lm: Any, request_type: str, requests: Sequence[Any], run: Callable[[list[Any]], list[Any]], *,
           chunk: int | None) -> list[Any]:
    """``run(requests)`` for the documents not in the cache; ``chunk`` documents at a time, each chunk
    stored when done (``chunk=None``: all-or-nothing, for answers that depend on every document)."""
    db = store(lm)
    if db is None or not requests:
        return run(list(requests))
    identity = lm.cache_identity()
    group = "" if chunk else hashlib.sha256(
        json.dumps([list(r.args) for r in requests], sort_keys=True, default=_plain).encode()).hexdigest()
    keys = [key(identity, request_type, r, group) for r in requests]
    out: list[Any] = [db[k] if k in db else None for k in keys]
    todo = [i for i, v in enumerate(out) if v is None]
    if chunk is None:
        if not distributed.agree(not todo):  # answers made with collective calls: every rank runs, or none
            out = run(list(requests))
            for k, result in zip(keys, out, strict=True):
                db[k] = result
            _commit(db)
        return out
    with progress.documents(len(requests), len(requests) - len(todo)) as bar:
        for start in range(0, len(todo), chunk):
            index = todo[start:start + chunk]
            for i, result in zip(index, run([requests[i] for i in index]), strict=True):
                out[i] = result
                db[keys[i]] = result
            _commit(db)
            bar.update(len(index))
    return out
