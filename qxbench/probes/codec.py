"""Probe answers as JSON text and back, for the resume store (:mod:`qxbench.lmeval.resume`).

The probe answers are frozen dataclasses of plain values (:mod:`qxbench.probes.results`,
:class:`~qxbench.probes.selfexplain.Counterfactual`, :class:`~qxbench.probes.neurons.NeuronResult`, ...).
:func:`encode` writes one as JSON (a tensor as ``{"dtype", "shape", "data"}``); :func:`decode` reads it back
into the type the caller expects, checked field by field against that type's annotations. Nothing in the
text chooses a type or runs code: a value that does not fit is :class:`Invalid`, never executed.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import types
import typing
from typing import Any

from qxbench.errors import first_line

TENSOR_DTYPES = ("float16", "bfloat16", "float32", "float64", "int32", "int64", "bool")


class Invalid(ValueError):
    """Stored text that is not JSON of the expected shape; ``str()`` names where (one line)."""


def _tensor_json(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        t = value.detach().cpu()
        return {"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape), "data": t.flatten().tolist()}
    raise TypeError(f"{type(value).__name__} is not a probe answer value: no JSON form")


def _plain(value: Any) -> Any:
    """``value`` with dataclasses as dicts (tensors are left to :func:`_tensor_json`)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {(repr(k) if isinstance(k, float) else k): _plain(v) for k, v in value.items()}
    return value


def encode(value: Any) -> str:
    """JSON text that :func:`decode` turns back into an equal value (NaN and infinities kept)."""
    return json.dumps(_plain(value), default=_tensor_json, ensure_ascii=False)


def decode(text: str, expected: Any) -> Any:
    """The value of type ``expected`` that :func:`encode` wrote; :class:`Invalid` for anything else."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError, RecursionError) as err:
        raise Invalid(f"not JSON ({type(err).__name__})") from None
    return _value(data, expected, "answer")


def from_json(data: Any, expected: Any, where: str) -> Any:
    """Parsed JSON ``data`` as a value of type ``expected`` (checked as :func:`decode` does); ``where``
    starts the key path an :class:`Invalid` names (``value.kind``)."""
    return _value(data, expected, where)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The annotation of each field of the dataclass ``cls``."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _fail(where: str, expected: str, data: Any) -> Invalid:
    shown = json.dumps(data)[:40] if isinstance(data, (str, int, float, bool, type(None))) else type(data).__name__
    return Invalid(f"{where}: expected {expected}, found {shown}")


ADDED = "added"  # field metadata: the version that added the field; what an older version wrote lacks it


@functools.cache
def _required(cls: type) -> frozenset[str]:
    """The fields of the dataclass ``cls`` that stored JSON must hold: all but those declared as added later
    (``field(default=..., metadata={ADDED: "4.1"})``), which a log written before them lacks. Any other
    missing field is a value of another shape, refused."""
    return frozenset(f.name for f in dataclasses.fields(cls) if ADDED not in f.metadata)


def _dataclass(data: Any, cls: type, where: str) -> Any:
    hints = _hints(cls)
    if not isinstance(data, dict) or not _required(cls) <= set(data) <= set(hints):
        raise _fail(where, f"the fields of {cls.__name__}", data if not isinstance(data, dict) else sorted(data))
    values = {name: _value(data[name], hint, f"{where}.{name}") for name, hint in hints.items() if name in data}
    try:
        return cls(**values)
    except ValueError as err:  # the type's own check (__post_init__), e.g. an unknown answer kind
        raise Invalid(f"{where}: {first_line(err)}") from None


def _scalar(data: Any, kind: type, where: str) -> Any:
    if kind is float and isinstance(data, (int, float)) and not isinstance(data, bool):
        return float(data)
    if isinstance(data, kind) and (kind is bool or not isinstance(data, bool)):
        return data
    raise _fail(where, kind.__name__, data)


def _key(text: str, kind: Any, where: str) -> Any:
    """A JSON object's key as the dict's key type (:func:`encode` writes a float key as its ``repr``)."""
    if kind is str or kind is Any:
        return text
    try:
        if kind in (int, float):
            return kind(text)
    except ValueError:
        pass
    raise _fail(where, f"a {getattr(kind, '__name__', kind)} key", text)


def _sequence(data: Any, hint: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if not isinstance(data, list):
        raise _fail(where, "a list", data)
    if origin is list:
        return [_value(v, args[0], f"{where}[{i}]") for i, v in enumerate(data)]
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_value(v, args[0], f"{where}[{i}]") for i, v in enumerate(data))
    if len(data) != len(args):
        raise _fail(where, f"{len(args)} items", data)
    return tuple(_value(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(data, args, strict=True)))


def _tensor(data: Any, where: str) -> Any:
    import torch

    if not isinstance(data, dict) or set(data) != {"dtype", "shape", "data"} or data["dtype"] not in TENSOR_DTYPES:
        raise _fail(where, f"a tensor {{dtype ({', '.join(TENSOR_DTYPES)}), shape, data}}", data)
    shape = _sequence(data["shape"], list[int], f"{where}.shape")
    kind = bool if data["dtype"] == "bool" else int if data["dtype"].startswith("int") else float
    values = _sequence(data["data"], list[kind], f"{where}.data")  # type: ignore[valid-type]
    if any(n < 0 for n in shape) or math.prod(shape) != len(values):
        raise _fail(where, f"{math.prod(shape)} values for shape {shape}", len(values))
    return torch.tensor(values, dtype=getattr(torch, data["dtype"])).reshape(shape)


def _value(data: Any, hint: Any, where: str) -> Any:
    """``data`` (parsed JSON) as a value of the annotation ``hint``."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return data
    if hint is None or hint is type(None):
        if data is not None:
            raise _fail(where, "null", data)
        return None
    if origin in (types.UnionType, typing.Union):
        for option in typing.get_args(hint):
            try:
                return _value(data, option, where)
            except Invalid:
                continue
        raise _fail(where, str(hint), data)
    if origin in (list, tuple):
        return _sequence(data, hint, where)
    if origin is dict:
        key, item = typing.get_args(hint)
        if not isinstance(data, dict):
            raise _fail(where, "an object", data)
        return {_key(k, key, where): _value(v, item, f"{where}[{k!r}]") for k, v in data.items()}
    if dataclasses.is_dataclass(hint):
        return _dataclass(data, hint, where)  # type: ignore[arg-type]
    if hint in (str, int, float, bool):
        return _scalar(data, hint, where)
    if getattr(hint, "__module__", "") == "torch" and getattr(hint, "__name__", "") == "Tensor":
        return _tensor(data, where)
    raise Invalid(f"{where}: no JSON form for {hint}")
