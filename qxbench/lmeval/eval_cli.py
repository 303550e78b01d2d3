"""``qxbench eval``: lm-eval's own CLI over qxbench's task folder only.

Its own module so that both :mod:`qxbench.cli` and :mod:`leaderboard.cli` (``qxbench sweep``) can
call it without importing each other: the dependency runs qxbench.cli -> leaderboard.cli only.
"""

from __future__ import annotations

import sys
import time
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


PROG = "qxbench eval"
USAGE = f"{PROG} --model qx --tasks <task>[,<task>...] [--model_args <arg=value>,...] [options]"
EPILOG = f"""examples:
  $ {PROG} --model qx --tasks cf_flip,memorize --limit 20 --output_path runs --log_samples
  $ {PROG} --model qx --model_args pretrained=HuggingFaceTB/SmolLM2-135M,quant=gptq,bits=4 --tasks qx_probes
  $ {PROG} --model qx --tasks cf_flip --use_cache runs/cache   # an interrupted run resumes by document

`qxbench tasks` lists the tasks; the flags are lm-eval's (`lm_eval run --help`)."""


def _name_the_parser(harness: object) -> None:
    """lm-eval's ``run`` parser calls itself ``lm-eval run``; here it is ``qxbench eval``."""
    run = harness._subparsers.choices["run"]  # type: ignore[attr-defined]
    run.prog, run.usage, run.epilog = PROG, USAGE, EPILOG
    run.description = "Run lm-eval on qxbench's tasks, with lm-eval's own flags."


def cmd_eval(argv: Sequence[str]) -> int:
    """``qxbench eval``: lm-eval's ``run`` with qxbench's tasks only (for this call only)."""
    from qxbench import _lmeval_hook

    _lmeval_hook.install()
    with _lmeval_hook.qx_tasks_only():
        return _run(argv)


def _run(argv: Sequence[str]) -> int:
    """The body of :func:`cmd_eval`, run while the task index holds qxbench's tasks only."""
    from qxbench import logs, preflight, run_report
    from qxbench.lmeval.logsetup import quiet, setup_logging

    check_tasks(argv)
    import lm_eval.evaluator  # noqa: F401 - imported now so that quiet() can quiet its `git describe`
    from lm_eval._cli import HarnessCLI

    setup_logging()
    saved = sys.argv
    sys.argv = [PROG, *([] if argv[:1] == ["run"] else ["run"]), *argv]
    try:
        parser = HarnessCLI()
        _name_the_parser(parser)
        if not {"-h", "--help"} & set(argv):
            preflight.check_eval_argv(argv)  # before lm-eval parses --metadata, loads a model or data
        args = parser.parse_args()
        started = time.time()
        with quiet(logs.log_path(logs.output_path(list(argv)))):
            parser.execute(args)
        run_report.report(argv, started)
    finally:
        sys.argv = saved
    return 0
