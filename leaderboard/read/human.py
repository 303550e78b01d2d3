"""Human ratings on the probe pages: the results of ``qxbench study collect`` (``qx_human_ratings_*.json``
in the results directory or below it), one block per study and task.

Reads only that file format (never imports the study package): data flows study -> file -> site.
A broken file is one :class:`~qxbench.errors.QxError` line naming it, never skipped in silence.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from leaderboard.read.results import Run
from qxbench.errors import QxError, first_line

SCHEMA = "qxbench-human-ratings/1"
PATTERN = "qx_human_ratings_*.json"
ROW_KEYS = ("task", "model", "criterion", "config", "mean", "items", "diff", "low", "high", "pairs")


@dataclass(frozen=True)
class HumanRow:
    model: str
    config: str
    criterion: str  # display label
    mean: float | None  # None: no item rated
    items: int
    diff: float | None  # None for full precision or no paired item
    low: float | None
    high: float | None
    pairs: int

    @property
    def excludes_zero(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


@dataclass(frozen=True)
class HumanBlock:
    study_id: str
    task: str
    items: int  # items of this task in the study
    raters: int
    simulated: int  # raters whose answers a simulation wrote
    partial: int  # raters who handed in a partial answer file
    scale: tuple[int, int]
    alpha: tuple[tuple[str, float | None], ...]  # (criterion label, ordinal alpha; None: undefined)
    rows: tuple[HumanRow, ...]


def find_files(runs: list[Run]) -> list[Path]:
    """Ratings files in the directory that holds every run's results, and below it."""
    if not runs:
        return []
    root = Path(os.path.commonpath([r.path.parent.resolve() for r in runs]))
    return sorted(root.rglob(PATTERN))


def _blocks(data: dict) -> list[HumanBlock]:
    labels = data["criteria"]
    rows_by_task: dict[str, list[HumanRow]] = {}
    for row in data["rows"]:
        missing = [k for k in ROW_KEYS if k not in row]
        if missing:
            raise ValueError(f"a row without {', '.join(missing)}")
        rows_by_task.setdefault(row["task"], []).append(HumanRow(
            str(row["model"]), str(row["config"]), str(labels.get(row["criterion"], row["criterion"])),
            row["mean"], int(row["items"]), row["diff"], row["low"], row["high"], int(row["pairs"])))
    raters = data["raters"]
    return [HumanBlock(
        study_id=str(data["study_id"]), task=task, items=max((r.items for r in rows), default=0), raters=len(raters),
        simulated=sum(bool(r["simulated"]) for r in raters),
        partial=sum(r["ratings"] < r["expected"] for r in raters), scale=tuple(data["scale"]),  # type: ignore[arg-type]
        alpha=tuple((str(labels.get(c, c)), a) for c, a in data["alpha"].get(task, {}).items()), rows=tuple(rows))
        for task, rows in sorted(rows_by_task.items())]


def read_blocks(files: list[Path]) -> dict[str, list[HumanBlock]]:
    """task -> its blocks, one per study, in file order."""
    out: dict[str, list[HumanBlock]] = {}
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("schema") != SCHEMA:
                found = data.get("schema") if isinstance(data, dict) else type(data).__name__
                raise ValueError(f"schema {found!r}, expected {SCHEMA!r} (written by `qxbench study collect`)")
            blocks = _blocks(data)
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise QxError(f"Cannot read human ratings {path}: {first_line(err)}") from None
        for block in blocks:
            out.setdefault(block.task, []).append(block)
    return out
