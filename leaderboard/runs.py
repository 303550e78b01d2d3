"""Read lm-eval results of ``--model qx`` runs: ``results_<stamp>.json`` and, when the run used
``--log_samples``, its ``samples_<task>_<stamp>.jsonl`` files beside it.

Bad input is never dropped in silence: a broken file or samples line is a one-line
:class:`~qxbench.errors.QxError` naming it; a value that is not a number, a task that cannot be
named on disk or a run without results is left out with a note (:attr:`Run.problems`).
"""

from __future__ import annotations

import gzip
import json
import math
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from qxbench.errors import QxError, first_line

SEPARATORS = ("/", "\\")  # a task name becomes part of file names (samples_<task>_..., probe_<task>.html)


@dataclass(frozen=True)
class TaskResult:
    version: str
    limit: float | None
    n: int | None  # documents evaluated ("effective" n-samples)
    metrics: dict[str, float]  # NaN / inf kept as they are (the results file said so); never compared
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
    date: float  # lm-eval's `date`: when the run started
    tasks: dict[str, TaskResult]
    finished: float = 0.0  # date + total_evaluation_time_seconds (the start when lm-eval wrote no duration)
    problems: tuple[str, ...] = ()  # what was left out or is not a number, one line each (shown as notes)
    full_precision: str = ""  # what the model's "full precision" is, when not its original weights
    dtype: str = "float32"  # config.qx.dtype; runs of qxbench before it was recorded all computed in float32

    @property
    def config(self) -> str:
        """``fp`` for full precision, else e.g. ``gptq-4b-g128``; a dtype other than float32 is appended
        (``fp-bfloat16``, ``gptq-4b-g128-bfloat16``): runs of two dtypes are two configs, never one."""
        parts = ["fp"] if self.quant == "none" else [self.quant, *([f"{self.bits}b"] if self.bits else []),
                                                     *([f"g{self.group_size}"] if self.group_size else [])]
        return "-".join([*parts, *([self.dtype] if self.dtype != "float32" else [])])

    @property
    def is_fp(self) -> bool:
        return self.quant == "none"


def _float(value: Any) -> float | None:
    """A number (NaN and inf included); None for null, "N/A", a bool or any other non-number."""
    if value is None or value == "N/A" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _sample_row(row: Any, curve_key: str | None) -> tuple[int, dict[str, float], list[float] | None]:
    if not isinstance(row, dict):
        raise ValueError(f"a {type(row).__name__}, not an object")
    if "doc_id" not in row:
        raise ValueError("no doc_id")
    doc = int(row["doc_id"])
    names = row.get("metrics", [])
    if not isinstance(names, list):
        raise ValueError(f"'metrics' is a {type(names).__name__}, not a list")
    values = {m: _float(row.get(m)) for m in names}
    per_doc = {m: math.nan if v is None else v for m, v in values.items()}  # corpus-level metrics log non-numbers
    curve = None
    if curve_key:
        try:
            curve = [float(x) for x in json.loads(row["filtered_resps"][0])[curve_key]]
        except (KeyError, IndexError, TypeError, ValueError):
            pass  # this document logged no curve
    return doc, per_doc, curve


def _samples(path: Path, task: str, curve_key: str | None) -> tuple[dict | None, dict | None]:
    stamp = path.stem.removeprefix("results_")
    file = path.with_name(f"samples_{task}_{stamp}.jsonl")
    if not file.is_file():
        file = file.with_name(file.name + ".gz")  # committed results keep their samples gzipped
        if not file.is_file():
            return None, None
    try:
        if file.suffix == ".gz":
            with gzip.open(file, "rt", encoding="utf-8") as f:
                lines = f.read().splitlines()
        else:
            lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as err:  # gzip.BadGzipFile is an OSError
        raise QxError(f"Cannot read samples file {file}: {first_line(err)}") from None
    per_doc: dict[int, dict[str, float]] = {}
    curves: dict[int, list[float]] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc, values, curve = _sample_row(json.loads(line), curve_key)
        except (ValueError, TypeError) as err:  # JSONDecodeError is a ValueError
            raise QxError(f"{file}:{number}: broken sample line: {first_line(err)}") from None
        per_doc[doc] = values
        if curve is not None:
            curves[doc] = curve
    return per_doc, curves or None


def _metrics(values: dict, where: str) -> tuple[dict[str, float], dict[str, float | None], list[str]]:
    metrics: dict[str, float] = {}
    stderr: dict[str, float | None] = {}
    problems = []
    for key, value in values.items():
        if "," not in key:
            continue
        name, _filter = key.split(",", 1)
        if name.endswith("_stderr"):
            stderr[name.removesuffix("_stderr")] = _float(value)
            continue
        number = _float(value)
        if number is None:
            problems.append(f"{where}/{name} is {json.dumps(value)}, not a number: left out")
        else:
            metrics[name] = number
            if not math.isfinite(number):
                problems.append(f"{where}/{name} is {number}: shown as – and not compared")
    return metrics, stderr, problems


def read_run(path: Path, curve_keys: dict[str, str] | None = None) -> Run:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise QxError(f"Cannot read results file {path}: {first_line(err)}") from None
    if not isinstance(data, dict):
        raise QxError(f"{path} is a JSON {type(data).__name__}, not an lm-eval results object")
    config = data.get("config") or {}
    qx = config.get("qx") if isinstance(config, dict) else None
    if not isinstance(qx, dict):
        raise QxError(f"{path} was not written by a `--model qx` run (no config.qx block)")
    results = data.get("results") or {}
    if not isinstance(results, dict):
        raise QxError(f"{path}: \"results\" is a {type(results).__name__}, not an object of task -> metrics")
    limit = _float(config.get("limit"))
    tasks, problems = {}, []
    for task, values in sorted(results.items()):
        if any(sep in task for sep in SEPARATORS):
            problems.append(f"{path.name}: task name {task!r} contains a path separator: left out")
            continue
        if not isinstance(values, dict):
            raise QxError(f"{path}: results[{task!r}] is a {type(values).__name__}, not an object of metrics")
        metrics, stderr, bad = _metrics(values, f"{path.name}: {task}")
        problems += bad
        per_doc, curves = _samples(path, task, (curve_keys or {}).get(task))
        n = (data.get("n-samples") or {}).get(task, {}).get("effective")
        tasks[task] = TaskResult(
            version=str((data.get("versions") or {}).get(task)), limit=limit, n=n, metrics=metrics, stderr=stderr,
            higher_is_better=dict((data.get("higher_is_better") or {}).get(task, {})), per_doc=per_doc,
            curves=curves,
        )
    start = _float(data.get("date")) or 0.0
    took = _float(data.get("total_evaluation_time_seconds"))
    finished = start + (took if took is not None and math.isfinite(took) and took > 0 else 0.0)
    return Run(path=path, model=str(qx.get("model")), quant=str(qx.get("quant")), bits=qx.get("bits"),
               group_size=qx.get("group_size"), date=start, tasks=tasks, finished=finished, problems=tuple(problems),
               full_precision=_full_precision(qx), dtype=str(qx.get("dtype") or "float32"))


def _full_precision(qx: dict) -> str:
    """The provenance's note on what full precision is. Gemma 3 runs of qxbench 0.x before this
    release wrote it as "full precision = dequantized Q4_K_M: ...": the prefix is dropped, so that
    old and new runs of one model share one banner and it does not say "full precision" twice."""
    note = str((qx.get("provenance") or {}).get("full_precision") or "")
    return note.removeprefix("full precision = ")


def short_names(models: list[str]) -> dict[str, str]:
    """model -> the last component of its path or Hub id (``HuggingFaceTB/SmolLM2-135M`` -> ``SmolLM2-135M``),
    for chart legends; the whole name where two models would share one, or where nothing is left."""
    short = {m: m.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or m for m in models}
    taken = [short[m] for m in set(models)]
    return {m: s if taken.count(s) == 1 else m for m, s in short.items()}


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


def _when(run: Run) -> str:
    return datetime.fromtimestamp(run.finished, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def merge_runs(runs: list[Run]) -> tuple[list[Run], list[str]]:
    """One run per (model, config), its tasks gathered from every results file of that pair (tasks
    are often run by separate commands). Where two files hold the same task, the one that finished
    last wins and a note says which. Runs with no task at all are left out with a note."""
    notes = [f"{run.path}: no task results: left out" for run in runs if not run.tasks]
    groups: dict[tuple[str, str], list[Run]] = {}
    for run in sorted((r for r in runs if r.tasks), key=lambda r: (r.finished, str(r.path))):
        groups.setdefault((run.model, run.config), []).append(run)
    merged = []
    for (model, config), group in groups.items():
        tasks: dict[str, TaskResult] = {}
        source: dict[str, Run] = {}
        for run in group:  # oldest first: a task in a later file replaces the earlier one
            for task, result in run.tasks.items():
                if task in source:
                    old = source[task]
                    notes.append(f"{model} {config}: {task} from {run.path.name} (finished {_when(run)}), "
                                 f"not from the older {old.path.name} (finished {_when(old)})")
                tasks[task], source[task] = result, run
        merged.append(replace(group[-1], tasks=dict(sorted(tasks.items())),
                              problems=tuple(p for r in group for p in r.problems)))
    return sorted(merged, key=lambda r: (r.model, not r.is_fp, r.config)), notes


def read_runs(target: Path, curve_keys: dict[str, str] | None = None) -> tuple[list[Run], list[str]]:
    """Every run under ``target``, one per (model, config) (see :func:`merge_runs`), and the notes
    to show: values left out or not numbers, replaced tasks, empty runs."""
    files = find_results(target)
    runs = [read_run(p, curve_keys) for p in files]
    merged, notes = merge_runs(runs)
    if not merged:
        raise QxError(f"None of the {len(files)} results files under {target} holds a task result")
    return merged, [p for r in runs for p in r.problems] + notes


_NOTE = re.compile(r"^(?P<where>[^:]+): (?P<what>\S+ is \S+?)(?P<tail>[:,] .*)$")


def group_notes(notes: list[str], shown: int = 3) -> list[str]:
    """Notes that say the same of the same task/metric in several runs ("X: nle_sim/unfaithful is nan:
    shown as – and not compared") become one line with the count and the first ``shown`` runs; the
    others stay as they are, in their order."""
    groups: dict[tuple[str, str], list[str]] = {}
    order: list[tuple[str, str] | str] = []
    for note in notes:
        m = _NOTE.match(note)
        if m is None:
            order.append(note)
            continue
        key = (m["what"], m["tail"])
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(m["where"])
    out = []
    for item in order:
        if isinstance(item, str):
            out.append(item)
            continue
        where = groups[item]
        if len(where) == 1:
            out.append(f"{where[0]}: {item[0]}{item[1]}")
        else:
            more = f", and {len(where) - shown} more" if len(where) > shown else ""
            out.append(f"{item[0]} in {len(where)} runs ({', '.join(where[:shown])}{more}){item[1]}")
    return out
