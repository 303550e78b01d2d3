"""Plumbing shared by the backends: the install check, and cache-and-load for gptq, rtn, awq."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

from qxbench.errors import QxError, first_line
from qxbench.quant.cache import get_or_create, model_fingerprint, weights_sha256
from qxbench.quant.calibration import Calibration
from qxbench.quant.registry import Loaded


def require(module: str, *, quantizer: str, library: str, extra: str) -> None:
    """``Quantizer 'gptq' needs llm-compressor: pip install 'qxbench[gptq]'`` when ``module`` is missing."""
    if importlib.util.find_spec(module) is None:
        raise QxError(f"Quantizer '{quantizer}' needs {library}: pip install 'qxbench[{extra}]'")


def cache_spec(path: str, *, backend: str, distribution: str, bits: int, group_size: int,
               calibration: Calibration | None, dtype: str = "float32", **extra: object) -> dict[str, object]:
    """What a cached quantized model is keyed by: source checkpoint, backend, library version, config, and
    the dtype it was quantized in (named only when it is not float32, so float32 entries keep their keys)."""
    return {
        "model": path,
        "fingerprint": model_fingerprint(path),
        "backend": backend,
        "library": f"{distribution} {importlib.metadata.version(distribution)}",
        "bits": bits,
        "group_size": group_size,
        "calibration": None if calibration is None else calibration.key() | (
            {"content": content} if (content := calibration.content()) is not None else {}),
        **({"dtype": dtype} if dtype != "float32" else {}),
        **extra,
    }


def check_group_size(model, group_size: int) -> None:  # noqa: ANN001
    """Every quantized Linear's in_features must be a multiple of the group size."""
    import torch

    if group_size < 1:
        raise QxError(f"group_size={group_size} must be a positive whole number")
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and not name.endswith("lm_head") and module.in_features % group_size:
            raise QxError(f"group_size={group_size} does not divide in_features={module.in_features} of '{name}'")


GROUP_SIZES = (128, 64, 32)  # the default: the largest that divides every quantized layer


def quantized_in_features(path: str) -> dict[str, int]:
    """``in_features`` of every Linear that gets quantized (all but ``lm_head``), read from the
    checkpoint's config on the meta device (no weights are loaded)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(path)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return {name: m.in_features for name, m in model.named_modules()
            if isinstance(m, torch.nn.Linear) and not name.endswith("lm_head")}


def group_size_for(path: str, requested: int | None, backend: str) -> int:
    """The requested group size, or the largest of 128/64/32 dividing every quantized layer (printed:
    hidden size 576, as in SmolLM2, takes 64). One line when none divides them all."""
    if requested is not None:
        return requested
    features = sorted(set(quantized_in_features(path).values()))
    for size in GROUP_SIZES:
        if all(f % size == 0 for f in features):
            if size != GROUP_SIZES[0]:
                print(f"qxbench: quant={backend}: group_size={size} (the largest of "
                      f"{'/'.join(map(str, GROUP_SIZES))} dividing every layer's in_features: "
                      f"{', '.join(map(str, features))})", file=sys.stderr)
            return size
    raise QxError(f"quant={backend}: no group size of {', '.join(map(str, GROUP_SIZES))} divides every layer's "
                  f"in_features ({', '.join(map(str, features))}); pass group_size=")


def load_error(path: str, err: BaseException) -> QxError:
    return QxError(f"Could not load full-precision checkpoint '{path}': {first_line(err)}")


def load_cached(spec: dict[str, object], build: Callable[[Path], None], *, device: str, bits: int,
                group_size: int, dtype: object = None) -> Loaded:
    """Quantize into the cache on a miss (``build(dir)``), then load the packed checkpoint (its unquantized
    parts and its compute in ``dtype``; the checkpoint's own where None)."""
    from transformers import AutoModelForCausalLM

    entry, hit = get_or_create(spec, build)
    model = AutoModelForCausalLM.from_pretrained(entry, device_map={"": device},
                                                 **({"dtype": dtype} if dtype is not None else {}))
    return Loaded(model, str(entry), hit, bits, group_size, weights_sha256(entry))
