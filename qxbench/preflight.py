"""Checks of a run's command line before any model is loaded: bad input is refused before the work
starts, and finished work is never lost to a bad output location.

:func:`check_eval_argv` reads an ``lm_eval run`` / ``qxbench eval`` command line (``--limit``,
``--batch_size``, ``--metadata``, ``--output_path``); :func:`check_output_dir` is the one rule for
every output location (``--output_path``, ``leaderboard build -o``, ``study make -o``, sweep folders):
a directory that exists and is writable, or that can be created (it is created then, empty). Each failure
is one :class:`~qxbench.errors.QxError` naming the value.
"""

from __future__ import annotations

import ast
import json
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from qxbench.errors import QxError


def check_output_dir(path: str | Path, flag: str) -> Path:
    """``path`` as a directory that exists and is writable, or can be created; else one line."""
    target = Path(path).expanduser()
    if target.exists() and not target.is_dir():
        raise QxError(f"{flag} '{path}' is a file, not a directory: name a directory (it is created if missing)")
    ancestor = target
    while not ancestor.exists():
        if ancestor.parent == ancestor:
            break
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise QxError(f"{flag} '{path}' cannot be created: '{ancestor}' is a file, not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        where = "is not writable" if ancestor == target else f"cannot be created: '{ancestor}' is not writable"
        raise QxError(f"{flag} '{path}' {where}")
    try:  # the test that also holds for root and for read-only mounts: create it, write in it
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=target):
            pass
    except OSError as err:
        raise QxError(f"{flag} '{path}' cannot be written: {err.strerror or err}") from None
    return target


def check_new_file(path: str | Path, flag: str) -> Path:
    """A file to write: its directory must be creatable (:func:`check_output_dir`), it must not be a directory."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise QxError(f"{flag} '{path}' is a directory, not a file")
    check_output_dir(target.parent, flag)
    return target


def _values(argv: Sequence[str], *flags: str) -> list[str]:
    """Every value given to one of ``flags`` (``--flag v`` or ``--flag=v``); ``--metadata`` may take several."""
    out = []
    for i, arg in enumerate(argv):
        name, eq, value = arg.partition("=")
        if name in flags and eq:
            out.append(value)
        elif arg in flags and i + 1 < len(argv):
            if arg != "--metadata":  # one value, which may start with "-" (--limit -1)
                out.append(argv[i + 1])
                continue
            j = i + 1
            while j < len(argv) and not argv[j].startswith("--"):
                out.append(argv[j])
                j += 1
    return out


def check_limit(text: str) -> None:
    """lm-eval's ``--limit``: a positive count of documents per task, or a fraction in (0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise QxError(f"--limit '{text}' is not a number: give a count of documents per task (e.g. --limit 20) "
                      "or a fraction of each task below 1 (e.g. --limit 0.1)") from None
    if not math.isfinite(value) or value <= 0:
        raise QxError(f"--limit {text} leaves no document to evaluate: give a positive count (e.g. --limit 20) "
                      "or a fraction below 1 (e.g. --limit 0.1); leave it out to run every document")
    if value >= 1 and not value.is_integer():
        raise QxError(f"--limit {text}: a count of documents is a whole number (a fraction is below 1)")


def check_docs(text: str) -> tuple[int, int]:
    """``qxbench sweep --docs START:END``: the documents START..END-1 of every task (lm-eval's ``--samples``), the
    part of a run that a ``--limit START`` run leaves out; ``qxbench merge`` joins the two."""
    start, sep, end = text.partition(":")
    if not sep or not start.strip().isdigit() or not end.strip().isdigit() or int(start) >= int(end):
        raise QxError(f"--docs '{text}' must be START:END, whole numbers with 0 <= START < END: the documents "
                      "START..END-1 of every task (e.g. --docs 100:200 after a --limit 100 run)")
    return int(start), int(end)


def docs_samples(text: str, tasks: Sequence[str]) -> str:
    """``--docs START:END`` (checked) as lm-eval's ``--samples`` JSON: each task's indices START..END-1."""
    start, end = check_docs(text)
    return json.dumps({task: list(range(start, end)) for task in tasks}, separators=(",", ":"))


def check_batch_size(text: str) -> None:
    """lm-eval's ``--batch_size``: a whole number >= 1, ``auto`` or ``auto:N``."""
    head, _, times = text.partition(":")
    if head == "auto" and (not times or (times.isdigit() and int(times) >= 1)):
        return
    if text.isdigit() and int(text) >= 1:
        return
    raise QxError(f"--batch_size '{text}' must be a whole number >= 1, 'auto' or 'auto:N' (N >= 1)")


def check_metadata(values: Sequence[str]) -> None:
    """lm-eval's ``--metadata``: a JSON object, or ``key=value`` pairs (values read by ``ast.literal_eval``)."""
    for text in values:
        if text.lstrip().startswith(("{", "[")) or "=" not in text:
            try:
                value = json.loads(text)
            except ValueError as err:
                raise QxError(f"--metadata '{text}' is not JSON ({err}); give a JSON object such as "
                              "'{\"data_path\": \"/data\"}' or key=value pairs") from None
            if not isinstance(value, dict):
                raise QxError(f"--metadata '{text}' must be a JSON object, like '{{\"data_path\": \"/data\"}}'")
            continue
        for pair in text.split(","):
            key, eq, value = pair.partition("=")
            if not eq or not key.strip():
                raise QxError(f"--metadata '{text}': '{pair}' is not key=value")
            try:
                ast.literal_eval(value)
            except (ValueError, SyntaxError):
                pass  # lm-eval keeps a value it cannot evaluate as the string itself


def output_path(argv: Sequence[str]) -> Path | None:
    """The path ``--output_path`` gives (the last one), or None."""
    values = _values(argv, "--output_path", "-o")
    return Path(values[-1]).expanduser() if values else None


def output_dir(argv: Sequence[str]) -> Path | None:
    """The directory ``--output_path`` names (lm-eval writes ``x.json`` paths' results beside them)."""
    path = output_path(argv)
    if path is None:
        return None
    return path.parent if path.suffix == ".json" else path


def check_eval_argv(argv: Sequence[str]) -> None:
    """Every check above on an ``lm_eval run`` / ``qxbench eval`` command line."""
    for text in _values(argv, "--limit", "-L"):
        check_limit(text)
    for text in _values(argv, "--batch_size", "-b"):
        check_batch_size(text)
    check_metadata(_values(argv, "--metadata"))
    out = output_dir(argv)
    if out is not None:
        check_output_dir(out, "--output_path")
