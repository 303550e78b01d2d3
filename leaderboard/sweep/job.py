"""One config of a sweep, as both executors run it: the local one (:func:`leaderboard.sweep.execute.run_local`) and
Ray's (:mod:`leaderboard.sweep.ray_executor`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "qx_sweep.json"  # next to a config's results: the arguments that produced them


@dataclass(frozen=True)
class Job:
    """One config of a sweep: ``qxbench eval argv`` writing into ``out``."""

    label: str
    out: Path
    argv: list[str]
    manifest: dict[str, object]

    def finish(self) -> None:
        """Mark the results as complete (a later sweep with the same arguments skips this config)."""
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / MANIFEST).write_text(json.dumps(self.manifest, indent=2) + "\n")
