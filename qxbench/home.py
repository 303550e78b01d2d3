"""One home for every file qxbench writes: ``$QXBENCH_HOME`` (default ``~/.cache/qxbench``).

| what | where | override |
|---|---|---|
| converted real models (:mod:`qxbench.models.gguf`) | ``$QXBENCH_HOME/models`` | |
| quantized models (:mod:`qxbench.quant.cache`) | ``$QXBENCH_HOME/quantized`` | ``$QXBENCH_CACHE`` |
| kept attributions and judge labels (:mod:`qxbench.probes.refcache`) | ``$QXBENCH_HOME/attributions``, ``/labels`` | |
| a run's log without ``--output_path`` (:mod:`qxbench.logs`) | ``$QXBENCH_HOME/logs`` | ``$QXBENCH_LOG`` (the file) |

The table is repeated in docs/using.md; ``tests/test_home.py`` checks each row.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "QXBENCH_HOME"


def home() -> Path:
    """``$QXBENCH_HOME``, else ``~/.cache/qxbench``."""
    return Path(os.environ.get(ENV) or Path.home() / ".cache" / "qxbench").expanduser()
