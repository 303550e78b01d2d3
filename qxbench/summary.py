"""What a loaded model really is: parameters, weight bytes, and how many linear layers are quantized.

Used to verify that a requested quantization is in place (never trust the request alone) and
recorded in every result file under ``config.qx``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch


@dataclass(frozen=True)
class ModelSummary:
    model_class: str
    dtype: str
    parameters: int
    weight_bytes: int
    linear_layers: int
    quantized_linear_layers: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _is_linear(module: torch.nn.Module) -> bool:
    if isinstance(module, torch.nn.Linear) or hasattr(module, "qweight") or hasattr(module, "weight_packed"):
        return True
    return type(module).__name__.endswith("QuantLinear")


def is_quantized_linear(module: torch.nn.Module) -> bool:
    """A linear layer whose weight is not a plain floating-point tensor (bnb, GPTQ/AWQ, compressed-tensors,
    torchao, quanto)."""
    if hasattr(module, "qweight") or hasattr(module, "weight_packed"):
        return True
    weight = getattr(module, "weight", None)
    if not isinstance(weight, torch.Tensor):
        return False
    plain = type(weight) in (torch.Tensor, torch.nn.Parameter)
    return not (plain and weight.dtype.is_floating_point and type(module) is torch.nn.Linear)


def tensor_bytes(t: torch.Tensor) -> int:
    """Storage bytes; a tensor subclass (torchao) counts the tensors it is made of, not its logical dtype."""
    if type(t) not in (torch.Tensor, torch.nn.Parameter) and hasattr(t, "__tensor_flatten__"):
        names, _ = t.__tensor_flatten__()
        return sum(tensor_bytes(getattr(t, n)) for n in names)
    return t.numel() * t.element_size()


def weight_bytes(model: torch.nn.Module) -> int:
    """Bytes of every tensor in the state dict, a tensor shared under two names (tied input and
    output embeddings) counted once."""
    seen: set[tuple[int, int, tuple[int, ...]]] = set()
    total = 0
    for t in model.state_dict(keep_vars=True).values():
        if not isinstance(t, torch.Tensor):
            continue
        try:
            ptr = t.data_ptr()
        except (RuntimeError, NotImplementedError):  # a wrapper subclass without storage of its own
            ptr = 0
        key = (ptr, t.numel(), tuple(t.shape))
        if ptr and key in seen:
            continue
        seen.add(key)
        total += tensor_bytes(t)
    return total


def summarize(model: torch.nn.Module) -> ModelSummary:
    linears = [m for m in model.modules() if _is_linear(m)]
    dtype = getattr(model, "dtype", None)
    return ModelSummary(
        model_class=type(model).__name__,
        dtype=str(dtype).removeprefix("torch.") if dtype is not None else "unknown",
        parameters=sum(p.numel() for p in model.parameters()),
        weight_bytes=weight_bytes(model),
        linear_layers=len(linears),
        quantized_linear_layers=sum(is_quantized_linear(m) for m in linears),
    )
