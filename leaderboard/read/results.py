"""Read one lm-eval results file of a ``--model qx`` run, ``results_<stamp>.json``, and its samples files beside
it (:mod:`leaderboard.read.samples`) into a :class:`Run`.

Nothing read is trusted (:mod:`leaderboard.read.schema` types it): a broken file, samples line or key is a
one-line :class:`~qxbench.errors.QxError` naming the file and the key; a value that is not a number, a
task that cannot be named on disk or a date that is not one is left out with a note (:attr:`Run.problems`),
and so is a document's per-layer curve or label when its logged answer does not read
(:func:`qxbench.probes.logged.read_result`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from leaderboard.read.samples import disagreements, read_samples
from leaderboard.read.schema import ResultsFile, number, read_results, run_times, task_name_problem
from qxbench.errors import QxError


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
    doc_hashes: dict[int, str] | None = None  # doc_id -> lm-eval's doc_hash; None without it (older files)
    task_hash: str | None = None  # the results' task_hashes[task]: its documents, prompts and targets
    preds: dict[int, int] | None = None  # doc_id -> the model's label of the input (schema.logged_labels); None: none
    targets: dict[int, int] | None = None  # doc_id -> the label its counterfactual aims at (schema.logged_labels)


@dataclass(frozen=True)
class Run:
    path: Path
    model: str  # the base model (what `pretrained=` named)
    quant: str
    bits: int | None
    group_size: int | None
    date: float | None  # lm-eval's `date`: when the run started; None when it is not a time (a note says so)
    tasks: dict[str, TaskResult]
    finished: float | None = None  # date + total_evaluation_time_seconds (the start without a duration)
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


def _metrics(values: dict, where: str) -> tuple[dict[str, float], dict[str, float | None], list[str]]:
    metrics: dict[str, float] = {}
    stderr: dict[str, float | None] = {}
    problems = []
    for key, value in values.items():
        if "," not in key:
            continue
        name, _filter = key.split(",", 1)
        if name.endswith("_stderr"):
            stderr[name.removesuffix("_stderr")] = number(value)
            continue
        found = number(value)
        if found is None:
            problems.append(f"{where}/{name} is {json.dumps(value)[:40]}, not a number: left out")
        else:
            metrics[name] = found
            if not math.isfinite(found):
                problems.append(f"{where}/{name} is {found}: shown as – and not compared")
    return metrics, stderr, problems


def _task(path: Path, file: ResultsFile, task: str, curve_key: str | None) -> tuple[TaskResult, list[str]]:
    limit = file.config.limit
    metrics, stderr, problems = _metrics(file.results[task], f"{path.name}: {task}")
    samples = read_samples(path, task, curve_key)
    if samples is not None:
        problems += samples.problems + disagreements(metrics, samples.per_doc, f"{path.name}: {task}")
    version = file.versions.get(task)
    n = file.n_samples[task].effective if task in file.n_samples else None
    return TaskResult(
        version=str(version), limit=limit, n=n, metrics=metrics, stderr=stderr,
        higher_is_better=dict(file.higher_is_better.get(task, {})), per_doc=samples and samples.per_doc,
        curves=samples and samples.curves, doc_hashes=samples and samples.hashes,
        task_hash=file.task_hashes.get(task), preds=samples and samples.preds,
        targets=samples and samples.targets), problems


def read_run(path: Path, curve_keys: dict[str, str] | None = None) -> Run:
    """One results file (and its samples), every key the leaderboard uses checked (:mod:`leaderboard.read.schema`)."""
    _, file = read_results(path)
    tasks, problems = {}, []
    for task in sorted(file.results):
        why = task_name_problem(task)
        if why:
            problems.append(f"{path.name}: task name {task[:60]!r} {why}: left out")
            continue
        tasks[task], bad = _task(path, file, task, (curve_keys or {}).get(task))
        problems += bad
    start, finished, bad = run_times(file, path.name)
    qx = file.config.qx
    return Run(path=path, model=qx.model, quant=qx.quant, bits=qx.bits, group_size=qx.group_size, date=start,
               tasks=tasks, finished=finished, problems=tuple(problems + bad),
               full_precision=_full_precision(qx.provenance), dtype=qx.dtype or "float32")


def _full_precision(provenance: dict | None) -> str:
    """The provenance's note on what full precision is. Gemma 3 runs of qxbench 0.x before this
    release wrote it as "full precision = dequantized Q4_K_M: ...": the prefix is dropped, so that
    old and new runs of one model share one banner and it does not say "full precision" twice."""
    note = str((provenance or {}).get("full_precision") or "")
    return note.removeprefix("full precision = ")


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
