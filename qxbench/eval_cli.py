"""``qxbench eval``: lm-eval's own CLI over qxbench's task folder only.

Its own module so that both :mod:`qxbench.cli` and :mod:`leaderboard.cli` (``qxbench sweep``) can
call it without importing each other: the dependency runs qxbench.cli -> leaderboard.cli only.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from qxbench._lmeval_hook import qx_task_index
from qxbench.errors import unknown


def check_tasks(argv: Sequence[str]) -> None:
    """Unknown task names get a did-you-mean line before lm-eval spends time loading anything."""
    tasks: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--tasks" and i + 1 < len(argv):
            tasks += argv[i + 1].split(",")
        elif arg.startswith("--tasks="):
            tasks += arg.split("=", 1)[1].split(",")
    if not tasks:
        return
    index = qx_task_index()
    for task in tasks:
        if task and task not in index and not Path(task).exists() and not any(c in task for c in "*?["):
            raise unknown("task", task, index)


def cmd_eval(argv: Sequence[str]) -> int:
    from qxbench import _lmeval_hook

    _lmeval_hook.install(only_qx_tasks=True)
    check_tasks(argv)
    from lm_eval._cli import HarnessCLI
    from lm_eval.utils import setup_logging

    setup_logging()
    saved = sys.argv
    sys.argv = ["qxbench eval", *([] if argv[:1] == ["run"] else ["run"]), *argv]
    try:
        parser = HarnessCLI()
        parser.execute(parser.parse_args())
    finally:
        sys.argv = saved
    return 0
