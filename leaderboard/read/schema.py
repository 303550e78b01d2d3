"""What the leaderboard reads from disk, and nothing of it trusted: the typed schema of an lm-eval results
file of a ``--model qx`` run (:class:`ResultsFile`, its ``config.qx`` :class:`QxConfig`), of a samples
line (:func:`sample_row`) and of its dates (:func:`run_times`).

A value of the wrong type or out of range in a key the leaderboard needs is one line naming the file,
the key and the value (:func:`read_results`); a value it can do without (a date, a duration, a
per-document value beyond :data:`LARGEST`) is left out with a note. Unknown keys are allowed: lm-eval
and qxbench add keys over time.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from qxbench.errors import QxError, first_line
from qxbench.probes.codec import Invalid
from qxbench.probes.logged import read_result

LATEST = 253402300799.0  # 9999-12-31 23:59:59 UTC: the last moment a date can be shown
LARGEST = 1e100  # a per-document value beyond ± this is not finite to the statistics (sums of it overflow)
MAX_TASK_BYTES = 200  # a task name is part of file names (samples_<task>_<stamp>.jsonl.gz): 255 bytes at most
LABELLED = ("Counterfactual", "Explanation")  # logged records whose ``pred`` is the model's label of the input

WANTED = {"dict_type": "an object", "int_type": "an integer", "int_from_float": "an integer", "string_type": "a string",
          "bool_type": "true or false", "float_type": "a number", "list_type": "a list"}  # pydantic error -> "not ..."
Count = Annotated[int, Field(ge=0, le=10**12)]


class _Open(BaseModel):
    """Strict types, extra keys kept (lm-eval and qxbench add keys over time)."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)


class QxConfig(_Open):
    """``config.qx``: what qxbench's adapter recorded (:meth:`qxbench.lmeval.adapter.QxLM.get_model_info`)."""

    schema_: Literal["qxbench-config/1"] | None = Field(None, alias="schema")  # None: before it was written
    model: str = Field(min_length=1)
    quant: str = Field(min_length=1)
    bits: Annotated[int, Field(ge=1, le=64)] | None = None
    group_size: Annotated[int, Field(ge=1, le=2**31)] | None = None
    dtype: Literal["float32", "float16", "bfloat16"] | None = None  # None: runs from before it was recorded
    provenance: dict[str, Any] | None = None
    quantized_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None  # None: not cached, or older


class Config(_Open):
    qx: QxConfig
    limit: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None


class NSamples(_Open):
    effective: Count | None = None


class ResultsFile(_Open):
    """An lm-eval ``results_<stamp>.json``: only the keys the leaderboard reads are typed."""

    config: Config
    results: dict[str, dict[str, Any]] = {}
    versions: dict[str, str | int | float | None] = {}
    n_samples: dict[str, NSamples] = Field({}, alias="n-samples")
    higher_is_better: dict[str, dict[str, bool]] = {}
    task_hashes: dict[str, str] = {}
    date: Any = None  # checked by run_times: a bad date is a note, not an error
    total_evaluation_time_seconds: Any = None

    @field_validator("results", "versions", "n_samples", "higher_is_better", "task_hashes", mode="before")
    @classmethod
    def _empty(cls, value: Any) -> Any:
        """null, [] or {} all mean "none" (lm-eval writes {} for a run without results)."""
        return {} if value is None or value == [] else value


def number(value: Any) -> float | None:
    """A number (NaN and inf included, an integer too large for a float is ±inf); None for null, "N/A",
    a bool or any other non-number."""
    if value is None or value == "N/A" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except OverflowError:
        return math.copysign(math.inf, value)
    except (TypeError, ValueError):
        return None


def _show(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (dict, list, str, bool, type(None))) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _where(data: Any, loc: tuple) -> tuple[str, Any]:
    """The dotted key of a validation error (the part of ``loc`` that is in the data) and its value."""
    parts, node = [], data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            break
        parts.append(str(part))
    return ".".join(parts), node


def read_results(path: Path) -> tuple[dict[str, Any], ResultsFile]:
    """The file's JSON and its validated schema; one :class:`QxError` line naming the file and key otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:  # ValueError: bad JSON, huge ints
        raise QxError(f"Cannot read results file {path}: {first_line(err)}") from None
    if not isinstance(data, dict):
        raise QxError(f"{path} is a JSON {type(data).__name__}, not an lm-eval results object")
    config = data.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("qx"), dict):
        raise QxError(f"{path} was not written by a `--model qx` run (no config.qx block)")
    try:
        return data, ResultsFile.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        if first["type"] == "missing":
            key, said = ".".join(map(str, first["loc"])), "is missing"
        else:
            key, value = _where(data, first["loc"])
            wanted = WANTED.get(first["type"])
            said = f"is {_show(value)}, not {wanted}" if wanted else f"is {_show(value)}: {first['msg'].lower()}"
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        raise QxError(f"{path}: {key} {said}{more}") from None


def task_name_problem(task: str) -> str:
    """Why a task name cannot be used (it becomes part of file names), '' when it can."""
    if any(sep in task for sep in ("/", "\\", "\0")):
        return "contains a path separator"
    if len(task.encode("utf-8", "surrogatepass")) > MAX_TASK_BYTES:
        return f"is longer than {MAX_TASK_BYTES} bytes (it becomes part of file names)"
    return ""


def run_times(file: ResultsFile, name: str) -> tuple[float | None, float | None, list[str]]:
    """When the run started and finished (lm-eval's ``date`` + ``total_evaluation_time_seconds``), None
    when its date is not a time; a date or duration that is not one is left out with a note."""
    start, took, problems = number(file.date), number(file.total_evaluation_time_seconds), []
    if start is None or not 0 <= start <= LATEST:
        problems.append(f"{name}: date is {_show(file.date)}, not a time: left out (the run counts as the oldest)")
        return None, None, problems
    if file.total_evaluation_time_seconds is not None and (took is None or not 0 <= took <= LATEST - start):
        problems.append(f"{name}: total_evaluation_time_seconds is {_show(file.total_evaluation_time_seconds)}, "
                        "not a duration: left out (the start is used)")
        took = None
    return start, start + (took or 0.0), problems


def sample_row(row: Any, curve_key: str | None) -> tuple[int, str | None, dict[str, float], list[float] | str | None]:
    """doc_id, doc_hash (None in files from before lm-eval wrote it), metric -> value (NaN where the line
    has no number) and the per-layer curve of one samples line (``curve_key`` of the logged answer, read by
    :func:`qxbench.probes.logged.read_result`; a line whose answer does not read or has no such curve gives
    the reason instead, a note: that document's curve is left out); ValueError names what is wrong."""
    if not isinstance(row, dict):
        raise ValueError(f"a {type(row).__name__}, not an object")
    if "doc_id" not in row:
        raise ValueError("no doc_id")
    doc = row["doc_id"]
    if not isinstance(doc, int) or isinstance(doc, bool) or not 0 <= doc < 2**63:
        raise ValueError(f"doc_id is {_show(doc)}, not a document number")
    doc_hash = row.get("doc_hash")
    if doc_hash is not None and not isinstance(doc_hash, str):
        raise ValueError(f"doc_hash is {_show(doc_hash)}, not a string")
    names = row.get("metrics", [])
    if not isinstance(names, list) or not all(isinstance(m, str) for m in names):
        raise ValueError(f"'metrics' is {_show(names)}, not a list of names")
    values = {m: number(row.get(m)) for m in names}
    per_doc = {m: math.nan if v is None else v for m, v in values.items()}  # corpus-level metrics log non-numbers
    return doc, doc_hash, per_doc, _curve(row, curve_key) if curve_key else None


def _answer(row: dict[str, Any]) -> Any:
    """A line's logged answer (:func:`qxbench.probes.logged.read_result`); :class:`Invalid` when it does not read."""
    resps = row.get("filtered_resps")
    if not isinstance(resps, list) or not resps:
        raise Invalid("no filtered_resps")
    return read_result(resps[0])


def logged_labels(row: dict[str, Any]) -> tuple[int | str | None, int | None]:
    """A line's logged answer, read once: the model's label of the input (the ``pred`` of a :data:`LABELLED`
    record, cf_flip and nle_sim 4.0 on; None for any other record, protocol 3's included: ``Counterfactual3``
    runs get no comparison by label; why, when the answer does not read, one line) and the label its
    counterfactual was asked to reach (the ``target`` of a ``Counterfactual``, cf_flip 4.x: the model's own
    runner-up label, so two configs that agree on the input's label can still be asked for different rewrites
    on three or more labels; None for any other record or an answer that does not read)."""
    try:
        answer = _answer(row)
    except Invalid as err:
        return str(err), None
    name = type(answer).__name__
    pred = getattr(answer, "pred", None) if name in LABELLED else None
    target = getattr(answer, "target", None) if name == "Counterfactual" else None
    return (pred if _is_label(pred) else None), (target if _is_label(target) else None)


def _is_label(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def labels(rows: list[tuple[int, int, dict[str, Any]]], file: str,
           task: str) -> tuple[dict[int, int] | None, dict[int, int] | None, list[str]]:
    """doc_id -> the model's label of the input and doc_id -> its counterfactual's target (:func:`logged_labels`;
    targets None when no answer holds one: nle_sim) from a task's samples lines (line number,
    doc_id, line), and a note per line whose label is left out; (None, None, []) when no answer holds a label.
    The first answer that reads decides: one without a label (another probe's record, or protocol 3's) ends
    the reading."""
    preds: dict[int, int] = {}
    targets: dict[int, int] = {}
    unread: list[str] = []
    for line, doc, row in rows:
        pred, target = logged_labels(row)
        if isinstance(pred, int):
            preds[doc] = pred
            if target is not None:
                targets[doc] = target
        elif pred is None and not preds:
            break
        else:
            unread.append(f"{file}:{line}: {task}: label left out: {pred or 'the answer holds none'}")
    return (preds, targets or None, unread) if preds else (None, None, [])


def _curve(row: dict[str, Any], key: str) -> list[float] | str:
    """The per-layer curve ``key`` of a line's logged answer, or why there is none (one line)."""
    try:
        answer = _answer(row)
    except Invalid as err:
        return str(err)
    curve = getattr(answer, key, None) if dataclasses.is_dataclass(answer) else None
    if not isinstance(curve, list) or not all(isinstance(x, float) for x in curve):
        return f"the {type(answer).__name__} has no per-layer curve {key!r}"
    return curve


def clip(per_doc: dict[int, dict[str, float]], where: str) -> tuple[dict[int, dict[str, float]], list[str]]:
    """Per-document values beyond ±:data:`LARGEST` become ±inf (not finite: never averaged, as lm-eval's
    own inf), with one note per metric saying how many."""
    counts: dict[str, int] = {}
    out = {}
    for doc, values in per_doc.items():
        row = {}
        for metric, v in values.items():
            if math.isfinite(v) and abs(v) > LARGEST:
                counts[metric] = counts.get(metric, 0) + 1
                v = math.copysign(math.inf, v)
            row[metric] = v
        out[doc] = row
    return out, [f"{where}/{m}: {k} per-document values beyond ±{LARGEST:g}: treated as not finite (left out)"
                 for m, k in sorted(counts.items())]
