"""Make ``lm_eval --model qx --tasks cf_flip,...`` work verbatim after ``pip install qxbench``.

lm-eval has no plugin mechanism for models or task folders, so the installed file
``qxbench_lmeval.pth`` runs :func:`install_at_startup` when Python starts. That only adds a
meta-path finder (no lm-eval, no torch import). When, and only when, lm-eval itself imports

* ``lm_eval.models`` (which fills the model registry with lazy entries), the finder adds the lazy
  entry ``qx -> qxbench.lmeval.adapter:QXLM``. Registering *after* that module runs matters: lm-eval only
  imports it while its registry is empty, so an earlier entry would hide every built-in model.
* ``lm_eval.tasks.manager``, it replaces ``TaskManager`` with a subclass that adds qxbench's task
  folder to ``include_path`` (no ``--include_path`` needed). ``qxbench eval`` also drops lm-eval's
  ~14k built-in task YAMLs from the index, which is most of the stock CLI's start-up time.
* ``lm_eval.__main__``, it wraps ``cli_evaluate`` so that qxbench's bad-input errors and unknown
  task names end in one line and exit status 2 instead of a traceback.

Set ``QXBENCH_NO_LMEVAL_HOOK=1`` to disable it; ``qxbench eval`` installs it explicitly anyway.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

ENV_DISABLE = "QXBENCH_NO_LMEVAL_HOOK"
MODEL_NAME = "qx"
MODEL_TARGET = "qxbench.lmeval.adapter:QXLM"

_only_qx_tasks = False


def tasks_dir() -> Path:
    """The folder of qxbench's lm-eval tasks (package ``lm_eval_tasks``), found without importing it."""
    spec = importlib.util.find_spec("lm_eval_tasks")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("qxbench's task folder 'lm_eval_tasks' is not installed; reinstall qxbench")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def qx_task_index() -> dict[str, str]:
    """Names (tasks, groups, tags) defined in qxbench's task folder -> kind (imports lm-eval)."""
    from lm_eval.tasks._index import TaskIndex

    return {name: entry.kind.name.lower() for name, entry in sorted(TaskIndex().build([tasks_dir()]).items())}


def _register_model(_module: ModuleType) -> None:
    from lm_eval.api.registry import model_registry

    if MODEL_NAME not in model_registry:
        model_registry.register(MODEL_NAME, target=MODEL_TARGET)


def _with_qx_tasks(include_path: Any) -> list[str | Path]:
    if include_path is None:
        paths = []
    else:
        paths = list(include_path) if isinstance(include_path, (list, tuple)) else [include_path]
    ours = tasks_dir()
    if all(Path(p).resolve() != ours for p in paths):
        paths.insert(0, ours)
    return paths


# --metadata keys that are not probe options: lm-eval's own (the task version it records, the config
# source it sets) and the arguments of qxbench's dataset loaders (``load_dataset(name, split)``).
RESERVED_METADATA = ("config_source", "name", "split", "version")


def check_metadata(metadata: Any) -> None:
    """One line for a ``--metadata`` key that lm-eval or a probe reserves (instead of a TypeError deep
    in a dataset loader, or a silently relabelled task version)."""
    from qxbench.errors import QxError

    taken = sorted(set(metadata or {}) & set(RESERVED_METADATA)) if isinstance(metadata, dict) else []
    if taken:
        raise QxError(f"--metadata key '{taken[0]}' is reserved by lm-eval or qxbench "
                      f"(reserved: {', '.join(RESERVED_METADATA)}); the probe options are listed in each task's README")


def _patch_task_manager(module: ModuleType) -> None:
    base = module.TaskManager
    if getattr(base, "_qxbench", False):
        return

    class TaskManager(base):  # type: ignore[misc, valid-type]
        _qxbench = True

        def __init__(self, verbosity=None, include_path=None, include_defaults=True, metadata=None):  # noqa: ANN001
            check_metadata(metadata)
            super().__init__(
                verbosity=verbosity,
                include_path=_with_qx_tasks(include_path),
                include_defaults=include_defaults and not _only_qx_tasks,
                metadata=metadata,
            )

    TaskManager.__module__, TaskManager.__qualname__ = base.__module__, base.__qualname__
    TaskManager.__doc__ = base.__doc__
    module.TaskManager = TaskManager
    # Installed late (lm-eval already imported): rebind the names other lm-eval modules imported.
    for name, other in list(sys.modules.items()):
        if name.startswith("lm_eval") and getattr(other, "TaskManager", None) is base:
            other.TaskManager = TaskManager


def _unknown_tasks_line(err: ValueError) -> str | None:
    """lm-eval 0.4.13 raises ``ValueError("Tasks not found: a,b")``; add a did-you-mean from our tasks."""
    import difflib

    message = str(err)
    if not message.startswith("Tasks not found:"):
        return None
    ours = sorted(qx_task_index())
    missing = [t.strip() for t in message.split(":", 1)[1].replace(",", " ").split() if t.strip()]
    close = [m for t in missing for m in difflib.get_close_matches(t, ours, n=1)]
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"{message}.{hint} qxbench's tasks: {', '.join(ours)} (`lm_eval ls tasks` lists all)"


def _probe_model_line(err: AttributeError) -> str | None:
    """A probe task run with another model than ``qx``: the evaluator asks it for a method it lacks."""
    import re

    found = re.search(r"'(\w+)' object has no attribute '(qx_\w+)'", str(err))
    if not found:
        return None
    return (f"this task sends '{found.group(2)}' requests, which only `--model qx` answers "
            f"(got model class {found.group(1)}); run it with --model qx")


def error_line(err: BaseException) -> str | None:
    """The one line that ends a run for a known kind of bad input; None for anything else."""
    from qxbench.errors import QxError

    if isinstance(err, QxError):
        return str(err)
    if isinstance(err, ValueError):
        return _unknown_tasks_line(err)
    if isinstance(err, AttributeError):
        return _probe_model_line(err)
    return None


def _runs_qx(argv: list[str]) -> bool:
    """``--model qx`` (or ``--model=qx``) on an lm-eval command line."""
    return any(a == "--model" and i + 1 < len(argv) and argv[i + 1] == "qx" for i, a in enumerate(argv)) or \
        "--model=qx" in argv


def _wrap_cli(module: ModuleType) -> None:
    """``lm_eval`` console script: qxbench's bad-input errors (:class:`~qxbench.errors.QxError`),
    lm-eval's unknown-task error and a probe task run with another model end with one line and
    exit status 2 instead of a traceback. Every other error is untouched. A ``--model qx`` run sends
    third-party noise to the log file, as ``qxbench eval`` does (:mod:`qxbench.logs`)."""
    inner = module.cli_evaluate
    if getattr(inner, "_qxbench", False):
        return

    def cli_evaluate() -> None:
        try:
            if _runs_qx(sys.argv):  # a qx run is as quiet as `qxbench eval`: library noise to the log file
                from qxbench import preflight

                if not {"-h", "--help"} & set(sys.argv):
                    preflight.check_eval_argv(sys.argv[1:])  # bad input refused before any model loads
                import lm_eval.evaluator  # noqa: F401 - so that quiet() reaches its `git describe`

                from qxbench import logs
                from qxbench.lmeval.logsetup import quiet, setup_logging

                setup_logging()  # lm-eval's handler exists before quiet() filters it (idempotent)
                from qxbench import run_report

                started = time.time()
                with quiet(logs.log_path(logs.output_path(sys.argv))):
                    inner()
                run_report.report(sys.argv[1:], started)
            else:
                inner()
        except (ValueError, AttributeError) as err:  # QxError is a ValueError
            line = error_line(err)
            if line is None:
                raise
            print(f"lm_eval: error: {line}", file=sys.stderr)
            raise SystemExit(2) from None

    cli_evaluate._qxbench = True  # type: ignore[attr-defined]
    cli_evaluate.__doc__ = inner.__doc__
    module.cli_evaluate = cli_evaluate


def run_as_main() -> None:
    """``python -m lm_eval``: lm-eval's CLI with the wrapper above (the module imported, not run as ``__main__``)."""
    import lm_eval.__main__ as cli

    cli.cli_evaluate()


_AFTER_IMPORT: dict[str, Callable[[ModuleType], None]] = {
    "lm_eval.models": _register_model,
    "lm_eval.tasks.manager": _patch_task_manager,
    "lm_eval.__main__": _wrap_cli,
}


class _LoaderWithCallback(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader, callback: Callable[[ModuleType], None]) -> None:
        self._loader, self._callback = loader, callback

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._callback(module)

    def get_code(self, fullname: str) -> Any:
        """``python -m lm_eval`` (and ``accelerate launch -m lm_eval``): runpy executes the code of
        ``lm_eval.__main__`` itself, so the callback would never run; it runs the wrapped CLI instead."""
        if self._callback is _wrap_cli:
            return compile("from qxbench._lmeval_hook import run_as_main\nrun_as_main()\n",
                           "<qxbench: python -m lm_eval>", "exec")
        return self._loader.get_code(fullname)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:  # get_source, ... for tools that ask
        return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):  # noqa: ANN001
        callback = _AFTER_IMPORT.get(fullname)
        if callback is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _LoaderWithCallback(spec.loader, callback)
                return spec
        return None


@contextmanager
def qx_tasks_only() -> Iterator[None]:
    """While open, lm-eval's task index holds qxbench's task folder only (``qxbench eval``: fast, and a name
    outside it is refused); closed, the setting is what it was, so a later run in the same process indexes
    lm-eval's own tasks again."""
    global _only_qx_tasks
    saved, _only_qx_tasks = _only_qx_tasks, True
    try:
        yield
    finally:
        _only_qx_tasks = saved


def install() -> None:
    """Install the finder (idempotent); apply at once to modules lm-eval already imported."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
    for name, callback in _AFTER_IMPORT.items():
        if name in sys.modules:
            callback(sys.modules[name])


def install_at_startup() -> None:
    """Called from ``qxbench_lmeval.pth``: install unless disabled by ``QXBENCH_NO_LMEVAL_HOOK``."""
    if os.environ.get(ENV_DISABLE, "").strip().lower() not in ("", "0", "false", "no"):
        return
    install()
