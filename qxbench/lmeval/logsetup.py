"""lm-eval's side of a quiet run (:func:`qxbench.logs.quiet`): its log set-up, and its ``git describe``, which
prints "fatal: not a git repository" on the terminal when a run starts outside a repository.

    setup_logging()                 # lm-eval's handler on the ``lm_eval`` logger, before quiet() filters it
    with quiet(logs.log_path(...)):  # logs.quiet, plus lm-eval's commit lookup kept off the terminal
        ...
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qxbench import logs


def setup_logging(*level: str) -> None:
    """``lm_eval.utils.setup_logging`` (``level``: its level name, else its default): its handler on the
    ``lm_eval`` logger exists before :func:`quiet` filters it (idempotent)."""
    from lm_eval.utils import setup_logging as lm_eval_setup_logging

    lm_eval_setup_logging(*level)


def _git_hash_quietly() -> str | None:
    """lm-eval's ``get_git_commit_hash`` (``lm_eval/loggers/utils.py``, lm-eval 0.4.13) with git's
    complaint about a directory outside a repository kept off the terminal; same value, same fallback."""
    import subprocess

    try:
        return subprocess.check_output(["git", "describe", "--always"], stderr=subprocess.DEVNULL).strip().decode()
    except (subprocess.CalledProcessError, FileNotFoundError):
        from lm_eval.loggers.utils import get_commit_from_path

        return get_commit_from_path(os.getcwd())


@contextmanager
def quiet(path: Path, *, announce: bool = True) -> Iterator[Path | None]:
    """:func:`qxbench.logs.quiet` for an lm-eval run: while it diverts (it yields a path), lm-eval's evaluator, if
    imported, looks its commit up through :func:`_git_hash_quietly` (its ``get_git_commit_hash`` is put back
    after)."""
    with logs.quiet(path, announce=announce) as used:
        evaluator = sys.modules.get("lm_eval.evaluator") if used is not None else None
        git_hash = getattr(evaluator, "get_git_commit_hash", None)
        if git_hash is not None:  # lm-eval's `git describe` prints "fatal: not a git repository" outside one
            evaluator.get_git_commit_hash = _git_hash_quietly  # type: ignore[union-attr]
        try:
            yield used
        finally:
            if git_hash is not None:
                evaluator.get_git_commit_hash = git_hash  # type: ignore[union-attr]
