"""Third-party warnings and logs go to a log file, not the terminal (``qxbench eval`` and ``sweep``).

Importing torch, torchao and bitsandbytes prints warnings about kernels this machine does not have,
llm-compressor logs every quantized module (to stdout, between lm-eval's results), and lm-eval warns
about ``--metadata`` and about being handed a model instance on every run. None of it concerns the
user; all of it is kept, with a time stamp, in one log file whose path one stderr line names:
``<--output_path>/qxbench.log`` beside the run's results, else a file of this run's own,
``$QXBENCH_HOME/logs/qxbench-<date>-<time>-<pid>.log`` (default home ``~/.cache/qxbench``;
``$QXBENCH_LOG`` sets the file). ``qxbench -v`` or ``QX_VERBOSE=1`` leaves everything on the terminal as
before. qxbench's own warnings, lm-eval's other messages and every error are never diverted. lm-eval's side
(its log set-up, its ``git describe`` kept quiet) is :mod:`qxbench.lmeval.logsetup`: this module imports no lm-eval.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from qxbench import distributed
from qxbench.home import home

ENV_VERBOSE = "QX_VERBOSE"
ENV_LOG = "QXBENCH_LOG"
LOG_NAME = "qxbench.log"
MAX_BYTES = 20_000_000  # a log file grown past this starts over
# Libraries whose loggers write to the log file only (their child loggers follow them).
NOISY = ("torch", "torchao", "bitsandbytes", "transformers", "accelerate", "datasets", "huggingface_hub",
         "compressed_tensors", "llmcompressor", "optimum", "sentence_transformers", "urllib3", "filelock", "fsspec")
# lm-eval warnings that every qxbench run triggers and that say nothing about it.
LM_EVAL_NOISE = (
    "Custom kwargs can be passed to `--metadata`",
    "`pretrained` model kwarg is not of type `str`",
    "Passed an already-initialized model through `pretrained`",
)

_stream: TextIO | None = None  # the open log file while quiet() is active


def verbose(flag: bool = False) -> bool:
    return flag or os.environ.get(ENV_VERBOSE, "").strip().lower() not in ("", "0", "false", "no")


def output_path(argv: list[str] | tuple[str, ...]) -> str | None:
    """lm-eval's ``--output_path`` (``-o``) in a command line, or None."""
    for i, arg in enumerate(argv):
        if arg in ("--output_path", "-o") and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--output_path="):
            return arg.split("=", 1)[1]
    return None


def run_log_name() -> str:
    """``qxbench-<date>-<time>-<pid>.log``; under a launcher (``WORLD_SIZE`` > 1) every rank names the
    launcher's pid instead, so that rank N's file sits beside rank 0's (``....rankN.log``)."""
    if distributed.env_world() > 1:
        return f"qxbench-launch{os.getppid()}.log"
    return f"qxbench-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"


def log_path(output_path: str | Path | None) -> Path:
    """``$QXBENCH_LOG``, else ``qxbench.log`` in the output directory, else this run's own file in
    ``$QXBENCH_HOME/logs`` (:func:`run_log_name`; :mod:`qxbench.home`).
    Under data parallelism ranks other than 0 write their own messages beside it (``qxbench.rank1.log``)."""
    if os.environ.get(ENV_LOG):
        path = Path(os.environ[ENV_LOG]).expanduser()
    elif output_path:
        out = Path(output_path).expanduser()
        path = (out.parent if out.suffix == ".json" else out) / LOG_NAME
    else:  # one file per run, so that a failure's log holds that failure only
        path = home() / "logs" / run_log_name()
    rank = distributed.env_rank()
    return path.with_name(f"{path.stem}.rank{rank}{path.suffix}") if rank else path


class _Divert(logging.Filter):
    """On lm-eval's terminal handler: its unrelated warnings go to the log file instead."""

    def __init__(self, to: logging.Handler) -> None:
        super().__init__()
        self.to = to

    def filter(self, record: logging.LogRecord) -> bool:
        if any(text in record.getMessage() for text in LM_EVAL_NOISE):
            self.to.handle(record)
            return False
        return True


def _ours(filename: str) -> bool:
    here = Path(__file__).resolve().parent
    return Path(filename).resolve().is_relative_to(here) or "lm_eval_tasks" in Path(filename).parts


def _preload() -> None:
    """Import torch and transformers now, so that the handlers they install on import are the ones
    replaced (both are imported by every evaluation anyway)."""
    import torch  # noqa: F401
    import transformers.utils.logging as hf_logging

    hf_logging.get_logger("transformers")


@contextmanager
def quiet(path: Path, *, announce: bool = True) -> Iterator[Path | None]:
    """Divert third-party warnings and logs to ``path`` (appended) for the duration; yields the path,
    or None when verbose or when the file cannot be written (then nothing is diverted)."""
    global _stream
    if verbose() or _stream is not None:
        yield None
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        stream = path.open("a" if not path.exists() or path.stat().st_size < MAX_BYTES else "w", encoding="utf-8")
    except OSError as err:
        print(f"qxbench: note: cannot write the log file {path} ({err.strerror}); library messages stay here",
              file=sys.stderr)
        yield None
        return
    stream.write(f"\n== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(sys.argv)}\n")
    stream.flush()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    _preload()
    names = {n for n in logging.root.manager.loggerDict if n.split(".")[0] in NOISY} | set(NOISY)
    saved: list[tuple[logging.Logger, list[logging.Handler], bool]] = []
    for name in sorted(names):
        logger = logging.getLogger(name)
        if name in NOISY or logger.handlers:
            saved.append((logger, list(logger.handlers), logger.propagate))
            logger.handlers = [handler] if name in NOISY else []
            logger.propagate = name not in NOISY
    divert = _Divert(handler)
    lm_eval_handlers = [*logging.getLogger("lm_eval").handlers, *logging.root.handlers]
    for h in lm_eval_handlers:
        h.addFilter(divert)
    show = warnings.showwarning

    def showwarning(message: Any, category: Any, filename: str, lineno: int, file: Any = None,
                    line: Any = None) -> None:
        if _ours(filename):
            show(message, category, filename, lineno, file, line)
        else:
            stream.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} WARNING py.warnings: "
                         f"{warnings.formatwarning(message, category, filename, lineno, line)}")
            stream.flush()

    warnings.showwarning = showwarning
    _stream = stream
    if announce and distributed.is_main():
        print(f"qxbench: library warnings and logs -> {path} (qxbench -v or {ENV_VERBOSE}=1 shows them here)",
              file=sys.stderr, flush=True)
    try:
        yield path
    finally:
        _stream = None
        warnings.showwarning = show
        for h in lm_eval_handlers:
            h.removeFilter(divert)
        for logger, handlers, propagate in saved:
            logger.handlers, logger.propagate = handlers, propagate
        _unroute_loguru()
        handler.close()
        stream.close()


_loguru_sink: int | None = None  # the log file's loguru sink while quiet() is active
_loguru_stdout: int | None = None  # the terminal sink _unroute_loguru() put back in llm-compressor's place


def _last_loguru_id() -> int:
    """The id of loguru's newest sink (it numbers sinks 0, 1, 2, ... as they are added): a sink added
    later has a larger one."""
    from loguru import logger

    probe = logger.add(lambda _: None)
    logger.remove(probe)
    return probe


@contextmanager
def importing_llmcompressor() -> Iterator[None]:
    """Wrap the import of llm-compressor: on import it points its loguru logger at stdout and logs
    (``No accelerator available!``). While :func:`quiet` is active the import sees the log file as
    stdout, and afterwards its logs go on to the log file (``qxbench -v``: nothing changes).
    Only the sinks that import added, and the one qxbench put back after an earlier run, are removed, by
    id: a sink the user added stays (llm-compressor's own first import calls ``logger.remove()`` itself)."""
    global _loguru_sink, _loguru_stdout
    if _stream is None or _loguru_sink is not None:
        yield
        return
    from loguru import logger

    before = _last_loguru_id()
    saved = sys.stdout
    sys.stdout = _stream
    try:
        yield
    finally:
        sys.stdout = saved
    ours = [*range(before + 1, _last_loguru_id()), *([] if _loguru_stdout is None else [_loguru_stdout])]
    for sink in ours:
        with contextlib.suppress(ValueError):  # gone already (the import removed it again)
            logger.remove(sink)
    _loguru_stdout = None
    _loguru_sink = logger.add(_stream, level="INFO",
                              format="{time:YYYY-MM-DD HH:mm:ss} {level} llmcompressor.{function}: {message}")


def _unroute_loguru() -> None:
    global _loguru_sink, _loguru_stdout
    if _loguru_sink is None:
        return
    from loguru import logger

    logger.remove(_loguru_sink)
    _loguru_sink = None
    _loguru_stdout = logger.add(sys.stdout, level="INFO",
                                format="{time:YYYY-MM-DDTHH:mm:ss.SSSS} | {function} | {level} - {message}")
