"""What lm-eval logs for each document of every probe, and the one reader of it.

lm-eval writes ``str()`` of a probe's answer into ``resps`` / ``filtered_resps`` of ``samples_*.jsonl``
(its metrics are computed from the object, never from this text). Every answer type's ``__str__`` is
:func:`log_text`, which writes schema 1::

    {"schema": "qxbench-result/1", "type": "<record>", "value": {<every field of the record>}}

``type`` names one of :data:`RECORDS`; ``value`` is :func:`qxbench.probes.codec.encode` of the record (NaN
and infinities as Python's JSON writes them). The record is the answer itself, except where the answer
holds more than one document's log should (:class:`~qxbench.probes.results.MemorizeLog`,
:class:`~qxbench.probes.neurons.NeuronLog`: the fields logged before schema 1, unchanged).

:func:`read_result` is the reader every consumer goes through. It returns the typed record, checked
field by field (:mod:`qxbench.probes.codec`); anything else is :class:`~qxbench.probes.codec.Invalid`,
one line naming the key (``value.kind: ...``). Logs written before schema 1 (the committed runs) are
read through an explicit migration, :func:`migrate`:

- untagged JSON (calib, memorize, multihop, neurons): the object's keys are the fields of exactly one of
  :data:`UNTAGGED` (fields with a default may be absent), read as that record;
- the dataclass repr (cf_flip, nle_sim, up to version 4.0): ``Counterfactual(...)`` / ``Explanation(...)``
  with keyword arguments only, parsed by :func:`literal` (constants, tuples and lists of them, ``nan``,
  ``inf``, a sign; nothing is evaluated), read as the current type when its keys fit it, else as
  protocol 3's (:mod:`qxbench.probes.legacy`); a plain ``(word, at, pred, explanation)`` insertion
  is read as an :class:`~qxbench.probes.selfexplain.Inserted`.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import json
import math
from typing import Any

from qxbench.errors import QxError
from qxbench.lazy import attribute
from qxbench.probes.codec import Invalid, encode, from_json

SCHEMA = "qxbench-result/1"

# tag -> "module:attr" of the record's type (imported when first read: the probe modules import this one)
RECORDS: dict[str, str] = {
    "Counterfactual": "qxbench.probes.selfexplain:Counterfactual",
    "Explanation": "qxbench.probes.selfexplain:Explanation",
    "MemorizeLog": "qxbench.probes.results:MemorizeLog",
    "MultiHopResult": "qxbench.probes.results:MultiHopResult",
    "NeuronLog": "qxbench.probes.neurons:NeuronLog",
    "NextToken": "qxbench.probes.results:NextToken",
}
# migration: the records logged as untagged JSON before schema 1, and the repr names -> the types tried in order
UNTAGGED = ("NextToken", "MultiHopResult", "MemorizeLog", "NeuronLog")
REPRS: dict[str, tuple[str, ...]] = {
    "Counterfactual": (RECORDS["Counterfactual"], "qxbench.probes.legacy:Counterfactual3"),
    "Explanation": (RECORDS["Explanation"], "qxbench.probes.legacy:Explanation3"),
}
INSERTED = ("word", "at", "pred", "explanation")  # the fields of a plain insertion tuple in an Explanation repr


@functools.cache
def _type(spec: str) -> type:
    return attribute(spec)  # type: ignore[no-any-return]


def log_text(record: Any) -> str:
    """The schema-1 text of one record (what every answer type's ``__str__`` returns)."""
    tag = type(record).__name__
    if tag not in RECORDS or _type(RECORDS[tag]) is not type(record):
        raise TypeError(f"{type(record).__qualname__} is not a logged record; records: {', '.join(sorted(RECORDS))}")
    return f'{{"schema": {json.dumps(SCHEMA)}, "type": {json.dumps(tag)}, "value": {encode(record)}}}'


def read_result(text: Any) -> Any:
    """The record logged as ``text`` (schema 1, or an older log through :func:`migrate`); :class:`Invalid`
    naming the key for anything else."""
    if not isinstance(text, str):
        raise Invalid(f"response: expected text, found {type(text).__name__}")
    stripped = text.strip()
    if not stripped.startswith("{"):
        return migrate(stripped)
    try:
        data = json.loads(stripped)
    except (ValueError, RecursionError) as err:
        raise Invalid(f"response: not JSON ({type(err).__name__})") from None
    if not isinstance(data, dict):
        raise Invalid(f"response: expected an object, found {type(data).__name__}")
    if "schema" not in data:
        return migrate(data)
    if set(data) != {"schema", "type", "value"}:
        raise Invalid(f"response: expected the keys schema, type, value; found {', '.join(sorted(map(str, data)))}")
    if data["schema"] != SCHEMA:
        raise Invalid(f"schema: expected {SCHEMA!r}, found {str(data['schema'])[:40]!r}")
    tag = data["type"]
    if not isinstance(tag, str) or tag not in RECORDS:
        raise Invalid(f"type: expected one of {', '.join(sorted(RECORDS))}; found {str(tag)[:40]!r}")
    return from_json(data["value"], _type(RECORDS[tag]), "value")


def read_logged(text: Any, where: str) -> Any:
    """:func:`read_result` for a command: what does not read is a :class:`~qxbench.errors.QxError` naming
    ``where`` (``file:line``) and the key, one line (the CLI exits 2)."""
    try:
        return read_result(text)
    except Invalid as err:
        raise QxError(f"{where}: the logged answer does not read: {err}") from None


def plain(record: Any) -> dict[str, Any]:
    """A record as plain values (nested records as dicts, tuples as lists), for comparing two logs."""
    return json.loads(encode(record))  # type: ignore[no-any-return]


def migrate(old: str | dict[str, Any]) -> Any:
    """A log from before schema 1: an untagged JSON object (parsed) or a dataclass repr (text)."""
    if isinstance(old, dict):
        for tag in UNTAGGED:
            cls = _type(RECORDS[tag])
            if _fits(old, cls):
                return from_json(_with_defaults(old, cls), cls, "value")
        raise Invalid(f"response: untagged JSON with keys {', '.join(sorted(map(str, old)))[:80]} is none of "
                      f"the records logged before schema 1 ({', '.join(UNTAGGED)})")
    try:
        node = ast.parse(old, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise Invalid(f"response: neither JSON nor a logged repr: {old[:40]!r}") from None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in REPRS
            and not node.args and all(kw.arg for kw in node.keywords)):
        raise Invalid(f"response: not a logged repr ({', '.join(REPRS)} with keyword arguments): {old[:40]!r}")
    values = {str(kw.arg): literal(kw.value, f"value.{kw.arg}") for kw in node.keywords}
    if isinstance(values.get("insertions"), list):
        values["insertions"] = [dict(zip(INSERTED, row, strict=True)) if isinstance(row, list) and len(row) == 4
                                else row for row in values["insertions"]]
    for spec in REPRS[node.func.id]:
        cls = _type(spec)
        if _fits(values, cls):
            return from_json(_with_defaults(values, cls), cls, "value")
    raise Invalid(f"value: the keys {', '.join(sorted(values))[:80]} fit no {node.func.id} "
                  f"({', '.join(s.split(':')[1] for s in REPRS[node.func.id])})")


def literal(node: ast.expr, where: str) -> Any:
    """The value of a literal in a logged repr: a constant (text, number, bool, None), a tuple or list of
    literals (as a list), ``nan``, ``inf``, a sign before a number; :class:`Invalid` for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool, type(None))):
        return node.value
    if isinstance(node, ast.Name) and node.id in ("nan", "inf"):
        return math.nan if node.id == "nan" else math.inf
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = literal(node.operand, where)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, (ast.Tuple, ast.List)):
        return [literal(item, f"{where}[{i}]") for i, item in enumerate(node.elts)]
    raise Invalid(f"{where}: expected a literal, found {type(node).__name__}")


def _fits(values: dict[str, Any], cls: type) -> bool:
    """``values`` has every field of ``cls`` without a default, and no other key."""
    all_fields = dataclasses.fields(cls)
    required = {f.name for f in all_fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    return required <= set(values) <= {f.name for f in all_fields}


def _with_defaults(values: dict[str, Any], cls: type) -> dict[str, Any]:
    """``values`` with each absent field's default, as JSON would hold it (for the codec's check)."""
    out = dict(values)
    for f in dataclasses.fields(cls):
        if f.name not in out:
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            out[f.name] = json.loads(encode(default))
    return out
