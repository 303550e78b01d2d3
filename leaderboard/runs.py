"""Read lm-eval results of ``--model qx`` runs: ``results_<stamp>.json`` and, when the run used
``--log_samples``, its ``samples_<task>_<stamp>.jsonl`` files beside it."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qxbench.errors import QxError


@dataclass(frozen=True)
class TaskResult:
    version: str
    limit: float | None
    n: int | None  # documents evaluated ("effective" n-samples)
    metrics: dict[str, float]
    stderr: dict[str, float | None]  # None where lm-eval wrote "N/A"
    higher_is_better: dict[str, bool]
    per_doc: dict[int, dict[str, float]] | None  # doc_id -> metric -> value; None without --log_samples
    curves: dict[int, list[float]] | None  # doc_id -> per-layer curve (see display.yaml `curves`)


@dataclass(frozen=True)
class Run:
    path: Path
    model: str  # the base model (what `pretrained=` named)
    quant: str
    bits: int | None
    group_size: int | None
    date: float
    tasks: dict[str, TaskResult]

    @property
    def config(self) -> str:
        """``fp`` for full precision, else e.g. ``gptq-4b-g128``."""
        if self.quant == "none":
            return "fp"
        return "-".join([self.quant, *([f"{self.bits}b"] if self.bits else []),
                         *([f"g{self.group_size}"] if self.group_size else [])])


def _float(value: Any) -> float | None:
    if value is None or value == "N/A":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _samples(path: Path, task: str, curve_key: str | None) -> tuple[dict | None, dict | None]:
    stamp = path.stem.removeprefix("results_")
    file = path.with_name(f"samples_{task}_{stamp}.jsonl")
    if not file.is_file():
        return None, None
    per_doc: dict[int, dict[str, float]] = {}
    curves: dict[int, list[float]] = {}
    for line in file.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        doc = int(row["doc_id"])
        per_doc[doc] = {m: _float(row.get(m)) if _float(row.get(m)) is not None else math.nan
                        for m in row.get("metrics", [])}  # corpus-level metrics log non-numbers: NaN
        if curve_key:
            try:
                logged = json.loads(row["filtered_resps"][0])
                curves[doc] = [float(x) for x in logged[curve_key]]
            except (KeyError, IndexError, TypeError, ValueError):
                pass
    return per_doc, curves or None


def read_run(path: Path, curve_keys: dict[str, str] | None = None) -> Run:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise QxError(f"Cannot read results file {path}: {err}") from None
    config = data.get("config") or {}
    qx = config.get("qx")
    if not isinstance(qx, dict):
        raise QxError(f"{path} was not written by a `--model qx` run (no config.qx block)")
    limit = _float(config.get("limit"))
    tasks = {}
    for task, values in sorted((data.get("results") or {}).items()):
        metrics, stderr = {}, {}
        for key, value in values.items():
            if "," not in key:
                continue
            name, _filter = key.split(",", 1)
            if name.endswith("_stderr"):
                stderr[name.removesuffix("_stderr")] = _float(value)
            elif _float(value) is not None:
                metrics[name] = float(value)
        per_doc, curves = _samples(path, task, (curve_keys or {}).get(task))
        n = (data.get("n-samples") or {}).get(task, {}).get("effective")
        tasks[task] = TaskResult(
            version=str((data.get("versions") or {}).get(task)), limit=limit, n=n, metrics=metrics, stderr=stderr,
            higher_is_better=dict((data.get("higher_is_better") or {}).get(task, {})), per_doc=per_doc,
            curves=curves,
        )
    return Run(path=path, model=str(qx.get("model")), quant=str(qx.get("quant")), bits=qx.get("bits"),
               group_size=qx.get("group_size"), date=float(data.get("date") or 0), tasks=tasks)


def find_results(target: Path) -> list[Path]:
    """A results file, or every ``results_*.json`` under a directory (sorted)."""
    if target.is_file():
        return [target]
    if not target.is_dir():
        raise QxError(f"No such results file or directory: {target}")
    files = sorted(target.rglob("results_*.json"))
    if not files:
        raise QxError(f"No lm-eval results (results_*.json) under {target}")
    return files


def read_runs(target: Path, curve_keys: dict[str, str] | None = None) -> tuple[list[Run], list[str]]:
    """Every run under ``target``; when a (model, config) pair has several, the newest is kept and a
    note says which were set aside."""
    runs = [read_run(p, curve_keys) for p in find_results(target)]
    newest: dict[tuple[str, str], Run] = {}
    notes = []
    for run in sorted(runs, key=lambda r: (r.date, str(r.path))):
        key = (run.model, run.config)
        if key in newest:
            notes.append(f"{run.model} {run.config}: using {run.path.name}, newer than {newest[key].path.name}")
        newest[key] = run
    return sorted(newest.values(), key=lambda r: (r.model, r.config != "fp", r.config)), notes
