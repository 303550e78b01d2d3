"""``--use_cache`` for the probe request types: answers are kept per document, so a run that was
interrupted resumes where it stopped.

lm-eval's ``CachingLM`` caches only its own request types (``loglikelihood``, ``generate_until``,
``loglikelihood_rolling``) in ``<PATH>_rank<N>.db``, an SqliteDict of pickled values, and hands every other
attribute to the model unchanged. qxbench never reads that file: it keeps the probe answers in its own
SQLite file beside it, ``<PATH>_rank<N>.qxprobes.db`` (:func:`store_path`), one row per answer holding JSON
text (:mod:`qxbench.probes.codec`). A row read back is checked against the request type's declared result
type; one that does not fit (edited, truncated, from another version) is answered again, with one warning
line. No value is ever unpickled. Each answer is keyed by

* the request type and the request's arguments (prompt, document, the probe options from ``--metadata``),
* the chat settings (``--apply_chat_template``, ``--system_instruction``),
* the model's identity (:meth:`qxbench.lmeval.adapter.QXLM.cache_identity`: checkpoint content, quantization
  config, reference model, qxbench version),

so a different model, config or option never reads another's entry. Missing documents are answered in
chunks and each chunk is stored as soon as it is done. Request types whose answers depend on the other
documents (the neurons probe's corpus statistics) are answered whole, keyed by the whole group.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from qxbench import distributed, progress
from qxbench.errors import QxError
from qxbench.probes import codec

PREFIX = "qxbench-probe:"
SUFFIX = ".qxprobes.db"  # beside lm-eval's <PATH>_rank<N>.db
TABLE = "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


def store_path(lm: Any) -> Path | None:
    """qxbench's answer file beside the ``--use_cache`` database lm-eval gave the model
    (``lm.cache_hook.dbdict``, which is never read), or None without ``--use_cache``."""
    db = getattr(getattr(lm, "cache_hook", None), "dbdict", None)
    if db is None:
        return None
    name = getattr(db, "filename", None)
    if not isinstance(name, str) or not name:
        raise QxError(f"The --use_cache store {type(db).__name__} has no file name: qxbench keeps its probe "
                      "answers in a file beside it")
    return Path(name.removesuffix(".db") + SUFFIX)


@contextlib.contextmanager
def _open(path: Path) -> Iterator[sqlite3.Connection]:
    """The answer file, made if missing; one that is not one (another database, not SQLite), or one that
    cannot be read or written (locked past the timeout, a full disk, read-only) is one line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(path, timeout=60)
    except sqlite3.Error as err:
        raise QxError(f"Cannot open the probe answer file {path}: {err}") from None
    try:
        try:
            db.execute(TABLE)
            db.execute("SELECT key, value FROM answers LIMIT 1").fetchall()
        except sqlite3.DatabaseError as err:
            raise QxError(f"{path} is not a qxbench probe answer file ({err}); remove it, and the answers are "
                          "made again") from None
        try:
            yield db
        except sqlite3.Error as err:  # reading or storing answers, after the file opened
            raise QxError(f"The probe answer file {path} cannot be used: {err}") from None
    finally:
        db.close()


def _read(db: sqlite3.Connection, keys: Sequence[str], expected: Any, path: Path, request_type: str) -> list[Any]:
    """The stored answer of each key, or None (absent, or not JSON of the ``expected`` type: one warning)."""
    out: list[Any] = []
    bad: list[str] = []
    for k in keys:
        row = db.execute("SELECT value FROM answers WHERE key = ?", (k,)).fetchone()
        try:
            if row is not None and not isinstance(row[0], str):
                raise codec.Invalid(f"a {type(row[0]).__name__}, not JSON text")
            out.append(None if row is None else codec.decode(row[0], expected))
        except codec.Invalid as err:
            out.append(None)
            bad.append(f"{k}: {err}")
    if bad:
        logging.getLogger(__name__).warning("%s: %d kept answer(s) in %s are not valid and are answered again "
                                            "(first: %s)", request_type, len(bad), path, bad[0])
    return out


def _write(db: sqlite3.Connection, rows: Sequence[tuple[str, Any]]) -> None:
    db.executemany("INSERT OR REPLACE INTO answers (key, value) VALUES (?, ?)",
                   [(k, codec.encode(v)) for k, v in rows])
    db.commit()


def _plain(value: Any) -> Any:
    return asdict(value) if is_dataclass(value) and not isinstance(value, type) else str(value)


def key(identity: dict[str, Any], request_type: str, request: Any, group: str = "") -> str:
    chat = getattr(request, "chat", None)
    text = json.dumps([identity, request_type, list(request.args), _plain(chat) if chat else None, group],
                      sort_keys=True, default=_plain)
    return PREFIX + hashlib.sha256(text.encode()).hexdigest()


def answer(lm: Any, request_type: str, requests: Sequence[Any], run: Callable[[list[Any]], list[Any]], *,
           chunk: int | None, result: Any = Any) -> list[Any]:
    """``run(requests)`` for the documents not in the store; ``chunk`` documents at a time, each chunk
    stored when done (``chunk=None``: all-or-nothing, for answers that depend on every document).
    ``result``: the type of one answer, which a stored one must fit (``Any``: any JSON value)."""
    path = store_path(lm)
    if path is None or not requests:
        return run(list(requests))
    identity = lm.cache_identity()
    group = "" if chunk else hashlib.sha256(
        json.dumps([list(r.args) for r in requests], sort_keys=True, default=_plain).encode()).hexdigest()
    keys = [key(identity, request_type, r, group) for r in requests]
    with _open(path) as db:
        out = _read(db, keys, result, path, request_type)
        todo = [i for i, v in enumerate(out) if v is None]
        if chunk is None:
            if not distributed.agree(not todo):  # answers made with collective calls: every rank runs, or none
                out = run(list(requests))
                _write(db, list(zip(keys, out, strict=True)))
            return out
        with progress.documents(len(requests), len(requests) - len(todo)) as bar:
            for start in range(0, len(todo), chunk):
                index = todo[start:start + chunk]
                for i, answered in zip(index, run([requests[i] for i in index]), strict=True):
                    out[i] = answered
                _write(db, [(keys[i], out[i]) for i in index])
                bar.update(len(index))
    return out


def json_only(db: Any) -> None:
    """lm-eval's own ``--use_cache`` store (an SqliteDict, ``lm.cache_hook.dbdict``) made to hold JSON text:
    sqlitedict pickles by default, and lm-eval unpickles what it reads back for its own request types
    (loglikelihood, generate_until), so a planted value would run code. Its values (numbers, text, a
    ``(float, bool)`` pair, read back as a list) are JSON; one that is not (a pickle from another program
    or an older qxbench) is refused in one line, never unpickled."""
    path = getattr(db, "filename", "the --use_cache store")

    def decode(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                pass
        raise QxError(f"{path} holds a value that is not JSON text (a pickle from another program or an older "
                      "qxbench?); qxbench never unpickles: remove the file, and the answers are made again")

    db.encode, db.decode = json.dumps, decode
