"""``qxbench``: eval | tasks | info | world build | world train.

``qxbench eval`` takes exactly lm-eval's flags (``lm_eval run --help``) but indexes only qxbench's
task folder, which skips most of the stock CLI's start-up. Bad input ends with one line,
``qxbench: error: ...``, and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from qxbench.errors import QxError, unknown


def _task_index() -> dict[str, str]:
    """Names (tasks, groups, tags) defined in qxbench's task folder -> kind."""
    from lm_eval.tasks._index import TaskIndex

    from qxbench._lmeval_hook import tasks_dir

    return {name: entry.kind.name.lower() for name, entry in sorted(TaskIndex().build([tasks_dir()]).items())}


def _check_tasks(argv: Sequence[str]) -> None:
    """Unknown task names get a did-you-mean line before lm-eval spends time loading anything."""
    tasks: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--tasks" and i + 1 < len(argv):
            tasks += argv[i + 1].split(",")
        elif arg.startswith("--tasks="):
            tasks += arg.split("=", 1)[1].split(",")
    if not tasks:
        return
    index = _task_index()
    for task in tasks:
        if task and task not in index and not Path(task).exists() and not any(c in task for c in "*?["):
            raise unknown("task", task, index)


def cmd_eval(argv: Sequence[str]) -> int:
    from qxbench import _lmeval_hook

    _lmeval_hook.install(only_qx_tasks=True)
    _check_tasks(argv)
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


def cmd_tasks(_: argparse.Namespace) -> int:
    for name, kind in _task_index().items():
        print(f"{name:24s} {kind}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from qxbench.adapter import QXLM

    extra = dict(kv.split("=", 1) for kv in args.model_args.split(",") if kv) if args.model_args else {}
    lm = QXLM(pretrained=args.model, device="cpu", **extra)
    table = Table(title=f"qxbench info {args.model}")
    table.add_column("field")
    table.add_column("value", justify="right")
    info = lm.qx.as_dict()
    for key, value in [*((k, v) for k, v in info.items() if k != "summary"), *info["summary"].items()]:
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    Console().print(table)
    return 0


def cmd_world_build(args: argparse.Namespace) -> int:
    from qxbench.world.data import DATA_DIR, write_eval_files
    from qxbench.world.generate import build_world

    for path in write_eval_files(build_world(), args.out or DATA_DIR):
        print(path)
    return 0


def cmd_world_train(args: argparse.Namespace) -> int:
    from qxbench.world import train

    train.main([*(["--out", str(args.out)] if args.out else []), "--steps", str(args.steps)])
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qxbench", description="Quantization x explainability benchmark (on lm-eval).")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("eval", help="run lm-eval on qxbench's tasks (same flags as `lm_eval run`)", add_help=False)
    sub.add_parser("tasks", help="list qxbench's tasks, groups and tags").set_defaults(func=cmd_tasks)
    info = sub.add_parser("info", help="load a model through the qx adapter and describe it")
    info.add_argument("model", help="embedded name (qx-tiny), local directory or Hugging Face id")
    info.add_argument("--model_args", default="", help="extra qx model args, e.g. quant=none")
    info.set_defaults(func=cmd_info)
    world = sub.add_parser("world", help="the embedded synthetic world").add_subparsers(dest="world_cmd", required=True)
    build = world.add_parser("build", help="write the evaluation split files")
    build.add_argument("--out", type=Path, default=None, help="directory (default: the packaged data folder)")
    build.set_defaults(func=cmd_world_build)
    train = world.add_parser("train", help="train the embedded model qx-tiny (about 25 min on 2 cores)")
    train.add_argument("--out", type=Path, default=None, help="directory (default: the packaged qx-tiny)")
    train.add_argument("--steps", type=int, default=1600)
    train.set_defaults(func=cmd_world_train)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["eval"]:
            return cmd_eval(argv[1:])
        args = build_parser().parse_args(argv)
        return args.func(args)
    except QxError as err:
        print(f"qxbench: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
