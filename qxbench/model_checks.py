"""Checks around loading a model: ``--model_args`` keys, and weights that do not fit their config.

Both end in one :class:`~qxbench.errors.QxError` line that names the value (the key and the valid
ones; the parameter and its two shapes), instead of a model class's TypeError or transformers'
"look at the above report", whose report only the log file holds.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from qxbench.errors import QxError, first_line, unknown

# ``from_pretrained`` keywords that HFLM hands on through its **kwargs (transformers' documented ones).
FROM_PRETRAINED = ("attn_implementation", "low_cpu_mem_usage", "device_map", "cache_dir", "local_files_only",
                   "token", "use_safetensors", "variant", "torch_dtype", "force_download")


def check_model_args(kwargs: dict[str, Any], *classes: type) -> None:
    """An unknown ``--model_args`` key is one line listing the valid ones (HFLM would hand it on to the
    model class, which fails with "unexpected keyword argument")."""
    valid = {name for cls in classes for name in inspect.signature(cls.__init__).parameters
             if not name.startswith("_") and name not in ("self", "kwargs")} | set(FROM_PRETRAINED)
    for key in kwargs:
        if key not in valid:
            raise unknown("--model_args key", key, valid)


class _Report(logging.Handler):
    """Keeps what transformers logs while a model loads: its load report names mismatched weights."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines += re.sub(r"\x1b\[[0-9;]*m", "", record.getMessage()).splitlines()


@contextmanager
def loading(pretrained: str) -> Iterator[None]:
    """A load that fails for weights that do not fit the config says which ones, in its one line
    (transformers' error only says "look at the above report", which goes to the log file)."""
    report, logger = _Report(), logging.getLogger("transformers")
    logger.addHandler(report)
    try:
        yield
    except Exception as err:
        if "above report" not in str(err):
            raise
        found = [re.search(r"^(.+?)\s*\|\s*MISMATCH.*ckpt: torch.Size\((\[.*?\])\) vs model: ?torch.Size\((\[.*?\])\)",
                           line) for line in report.lines]
        found = sorted((m for m in found if m), key=lambda m: m.group(1))  # the same first name every run
        what = (f"{found[0].group(1)} is {found[0].group(2)} in the checkpoint but {found[0].group(3)} by its "
                f"config.json" + (f" ({len(found) - 1} more mismatched)" if len(found) > 1 else "")
                if found else first_line(err))
        raise QxError(f"Could not load model '{pretrained}': its weights do not fit its config: {what}") from None
    finally:
        logger.removeHandler(report)
