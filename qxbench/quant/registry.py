"""One string-keyed registry of quantizer backends. Registering a name twice raises."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from qxbench.errors import QxError, unknown
from qxbench.quant.calibration import Calibration

if TYPE_CHECKING:
    from transformers import PreTrainedModel

# Modules that define backends; imported on first lookup so that start-up stays cheap.
_BACKEND_MODULES: tuple[str, ...] = (
    "qxbench.quant.none", "qxbench.quant.bnb", "qxbench.quant.gptq", "qxbench.quant.rtn",
    "qxbench.quant.prequantized", "qxbench.quant.torchao", "qxbench.quant.awq",
)
_REGISTRY: dict[str, Quantizer] = {}
_loaded = False


# ``dtype=``: the weights' dtype at full precision and every backend's compute dtype. "auto": the checkpoint's
# own (config.json's ``dtype``), float32 where it names none.
DTYPES = ("auto", "float32", "float16", "bfloat16")


def check_dtype(value: object) -> str:
    """``dtype=`` as one of :data:`DTYPES` (a ``torch.`` prefix is accepted); one line naming the choices."""
    name = str(value).removeprefix("torch.")
    if name not in DTYPES:
        raise QxError(f"dtype={value!r} is not a dtype qxbench runs; choices: {', '.join(DTYPES)}")
    return name


def resolve_dtype(path: str, dtype: str) -> str:
    """``auto`` resolved to the checkpoint's dtype (float32 where config.json names none or cannot be read)."""
    if dtype != "auto":
        return dtype
    from transformers import AutoConfig

    try:
        declared = getattr(AutoConfig.from_pretrained(path), "dtype", None)
    except (OSError, ValueError):  # the load that follows says what is wrong with the checkpoint
        return "float32"
    name = str(declared).removeprefix("torch.") if declared is not None else "float32"
    if name not in DTYPES:
        raise QxError(f"dtype=auto: '{path}' declares dtype {name}, which qxbench does not run; "
                      f"pass dtype= one of {', '.join(DTYPES[1:])}")
    return name


def torch_dtype(name: str):  # noqa: ANN201 - a torch.dtype
    import torch

    return getattr(torch, name)


@dataclass(frozen=True)
class QuantRequest:
    """What the user asked for: ``quant=gptq,bits=4,group_size=128`` (bits/group_size optional), and the
    dtype the model computes in (resolved: float32, float16 or bfloat16)."""

    backend: str = "none"
    bits: int | None = None
    group_size: int | None = None
    calibration: Calibration = field(default_factory=Calibration)
    dtype: str = "float32"

    @property
    def torch_dtype(self):  # noqa: ANN201
        return torch_dtype(self.dtype)


@dataclass(frozen=True)
class Loaded:
    """A backend's model, and where it came from when it went through the quantized-model cache."""

    model: PreTrainedModel
    cache_path: str | None = None
    cache_hit: bool | None = None
    bits: int | None = None  # what was applied, defaults included
    group_size: int | None = None
    weights_sha256: str | None = None  # a cached checkpoint's (qxbench.quant.cache.weights_sha256)


class Quantizer(Protocol):
    """A backend: declares its capabilities and turns a checkpoint into a loaded model."""

    name: str
    bits: tuple[int, ...]  # supported bit widths; () for full precision
    requires_calibration: bool
    extra: str  # pip extra that installs its dependencies, "" when none is needed

    def check_environment(self) -> None:
        """Raise :class:`QxError` with an install hint when a dependency is missing."""

    def load(self, path: str, request: QuantRequest, **from_pretrained: object) -> Loaded | None:
        """Return the quantized model, or ``None`` to let HFLM load ``path`` itself (full precision)."""


def register(quantizer: Quantizer) -> Quantizer:
    if quantizer.name in _REGISTRY:
        raise ValueError(f"quantizer '{quantizer.name}' is already registered")
    _REGISTRY[quantizer.name] = quantizer
    return quantizer


def _load_backends() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in _BACKEND_MODULES:
            importlib.import_module(module)


def available() -> list[str]:
    _load_backends()
    return sorted(_REGISTRY)


def get_quantizer(request: QuantRequest) -> Quantizer:
    """Look up and validate a request: unknown backend or unsupported bits raise one clear line."""
    _load_backends()
    if request.backend not in _REGISTRY:
        raise unknown("quantizer", request.backend, _REGISTRY)
    q = _REGISTRY[request.backend]
    if request.group_size is not None and request.group_size < 1:
        raise QxError(f"group_size={request.group_size} must be a positive whole number")
    if request.bits is not None and request.bits not in q.bits:
        supported = ", ".join(map(str, q.bits)) or "none (full precision takes no bits)"
        raise QxError(f"Quantizer '{q.name}' does not support bits={request.bits}. Supported: {supported}")
    q.check_environment()
    return q
