"""Read lm-eval results of ``--model qx`` runs: ``results_<stamp>.json`` and, when the run used
``--log_samples``, its ``samples_<task>_<stamp>.jsonl`` files beside it.

Nothing read is trusted (:mod:`leaderboard.schema` types it): a broken file, samples line or key is a
one-line :class:`~qxbench.errors.QxError` naming the file and the key; a value that is not a number, a
task that cannot be named on disk, a date that is not one or a run without results is left out with a
note (:attr:`Run.problems`), and so is a document's per-layer curve or label when its logged answer does not
read (:func:`qxbench.probes.logged.read_result`).
"""

from __future__ import annotations

import gzip
import json
import math
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from leaderboard.schema import ResultsFile, clip, labels, number, read_results, run_times, sample_row, task_name_problem
from qxbench.errors import QxError, first_line


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
    preds: dict[int, int] | None = None  # doc_id -> the model's label of the input (schema.logged_pred); None: none


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


@dataclass(frozen=True)
class Samples:
    per_doc: dict[int, dict[str, float]]
    curves: dict[int, list[float]] | None
    hashes: dict[int, str] | None  # None when no line has a doc_hash
    problems: list[str]
    preds: dict[int, int] | None = None  # None when no line's logged answer holds a label


def _sample_lines(path: Path, task: str) -> tuple[Path, list[str]] | None:
    stamp = path.stem.removeprefix("results_")
    file = path.with_name(f"samples_{task}_{stamp}.jsonl")
    if not file.is_file():
        file = file.with_name(file.name + ".gz")  # committed results keep their samples gzipped
        if not file.is_file():
            return None
    try:
        if file.suffix == ".gz":
            with gzip.open(file, "rt", encoding="utf-8") as f:
                return file, f.read().splitlines()
        return file, file.read_text(encoding="utf-8").splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as err:  # gzip.BadGzipFile is an OSError
        raise QxError(f"Cannot read samples file {file}: {first_line(err)}") from None


def _samples(path: Path, task: str, curve_key: str | None) -> Samples | None:
    found = _sample_lines(path, task)
    if found is None:
        return None
    file, lines = found
    per_doc: dict[int, dict[str, float]] = {}
    curves: dict[int, list[float]] = {}
    hashes: dict[int, str] = {}
    problems: list[str] = []  # one note per document whose curve is left out
    rows: list[tuple[int, int, dict]] = []  # (line number, doc_id, line): their labels are read at the end
    for number_, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            doc, doc_hash, values, curve = sample_row(row, curve_key)
        except (ValueError, TypeError, RecursionError) as err:  # JSONDecodeError is a ValueError
            raise QxError(f"{file}:{number_}: broken sample line: {first_line(err)}") from None
        per_doc[doc] = values
        if isinstance(curve, str):
            problems.append(f"{file.name}:{number_}: {task}: per-layer curve left out: {curve}")
        elif curve is not None:
            curves[doc] = curve
        if doc_hash is not None:
            hashes[doc] = doc_hash
        rows.append((number_, doc, row))
    per_doc, clipped = clip(per_doc, f"{file.name}: {task}")
    preds, unread = labels(rows, file.name, task)
    return Samples(per_doc, curves or None, hashes or None, problems + clipped + unread, preds)


def _disagree(metrics: dict[str, float], per_doc: dict[int, dict[str, float]], where: str) -> list[str]:
    """A finite aggregate in the results that is neither the mean of its finite per-document values (most
    metrics: mean or nanmean) nor their sum (counts: ``utils.total``): a note each; the paired comparisons
    use the samples."""
    out = []
    for metric, value in sorted(metrics.items()):
        docs = [v[metric] for v in per_doc.values() if metric in v and not math.isnan(v[metric])]
        if not docs or not math.isfinite(value) or not all(map(math.isfinite, docs)):
            continue
        total = math.fsum(docs)
        mean = total / len(docs)
        if not any(math.isclose(value, x, rel_tol=1e-6, abs_tol=1e-9) for x in (mean, total)):
            out.append(f"{where}/{metric} is {value:g} in the results, but the mean of its {len(docs)} samples "
                       f"is {mean:g}: compared over the samples")
    return out


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
    samples = _samples(path, task, curve_key)
    if samples is not None:
        problems += samples.problems + _disagree(metrics, samples.per_doc, f"{path.name}: {task}")
    version = file.versions.get(task)
    n = file.n_samples[task].effective if task in file.n_samples else None
    return TaskResult(
        version=str(version), limit=limit, n=n, metrics=metrics, stderr=stderr,
        higher_is_better=dict(file.higher_is_better.get(task, {})), per_doc=samples and samples.per_doc,
        curves=samples and samples.curves, doc_hashes=samples and samples.hashes,
        task_hash=file.task_hashes.get(task), preds=samples and samples.preds), problems


def read_run(path: Path, curve_keys: dict[str, str] | None = None) -> Run:
    """One results file (and its samples), every key the leaderboard uses checked (:mod:`leaderboard.schema`)."""
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
    if run.finished is None:
        return "at an unknown time"
    return datetime.fromtimestamp(run.finished, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def merge_runs(runs: list[Run]) -> tuple[list[Run], list[str]]:
    """One run per (model, config), its tasks gathered from every results file of that pair (tasks
    are often run by separate commands). Where two files hold the same task, the one that finished
    last wins and a note says which (a run whose date is not a time counts as the oldest: it never wins).
    Runs with no task at all are left out with a note."""
    notes = [f"{run.path}: no task results: left out" for run in runs if not run.tasks]
    groups: dict[tuple[str, str], list[Run]] = {}
    def age(r: Run) -> tuple:  # undated first: it never wins
        return r.finished is not None, r.finished or 0.0, str(r.path)

    for run in sorted((r for r in runs if r.tasks), key=age):
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


def read_runs(target: Path, curve_keys: dict[str, str] | None = None, *,
              skip_invalid: bool = False) -> tuple[list[Run], list[str]]:
    """Every run under ``target``, one per (model, config) (see :func:`merge_runs`), and the notes
    to show: values left out or not numbers, replaced tasks, empty runs. A file that cannot be read is
    its one-line error, or with ``skip_invalid`` a note and the other files."""
    files = find_results(target)
    runs, skipped = [], []
    for path in files:
        try:
            runs.append(read_run(path, curve_keys))
        except QxError as err:
            if not skip_invalid:
                raise
            skipped.append(f"skipped (--skip-invalid): {err}")
    merged, notes = merge_runs(runs)
    if not merged:
        raise QxError(f"None of the {len(files)} results files under {target} holds a task result")
    return merged, skipped + [p for r in runs for p in r.problems] + notes


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
