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
        """Mark the results as complete (a later sweep with the same arguments skips this config). The manifest
        lists one record per set of ``--tasks``: a config run in parts (``--tasks a,b``, then ``--tasks c``) keeps
        both, so a later sweep of either part skips it; a new record for the same tasks replaces the old one."""
        self.out.mkdir(parents=True, exist_ok=True)
        kept = [r for r in recorded(self.out) if r.get("tasks") != self.manifest.get("tasks")]
        (self.out / MANIFEST).write_text(json.dumps([*kept, self.manifest], indent=2) + "\n")


def recorded(out: Path) -> list[dict[str, object]]:
    """The records of ``out``'s manifest, oldest first; none where it is missing or unreadable (the config is then
    run again, never taken as done). An older manifest held one record, not a list: it is read as one."""
    try:
        value = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return []
    records = value if isinstance(value, list) else [value]
    return [r for r in records if isinstance(r, dict)]
