"""Readers of a model's internals at the last token of each prompt, in one batched forward pass.

:func:`read_last_token` registers forward hooks on every decoder block (input and output residual),
on the attention sublayer's contribution (``ArchSpec.attn_out``: the output projection, or Gemma's
norm after it) and on the MLP down projection (its input: the neuron activations; its output),
keeps only the last non-padding position of each row, and removes every hook in ``finally``.
:func:`logit_lens` reads any residual vector through the final norm, the unembedding and the
model's logit soft-cap (:mod:`qxbench.interp.arch`); :func:`dense_weight` recovers the dense matrix
of any linear layer, quantized or not.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from qxbench.interp.arch import ArchSpec, arch_of, softcap
from qxbench.interp.hooks import Hook, hooks
from qxbench.summary import is_quantized_linear


@dataclass(frozen=True)
class LastToken:
    """Per prompt and layer, at the prompt's last token. Shapes: [batch, layers, hidden] except
    ``act`` [batch, layers, neurons] and ``logits`` [batch, vocab]. ``mlp``: the down projection's
    output (the FFN's contribution where the architecture has no norm after it, see ``ffn_norm``)."""

    resid_in: torch.Tensor
    attn: torch.Tensor
    act: torch.Tensor
    mlp: torch.Tensor
    resid_out: torch.Tensor
    logits: torch.Tensor

    @property
    def resid_mid(self) -> torch.Tensor:
        """The residual the FFN sublayer adds to: block input plus attention output."""
        return self.resid_in + self.attn


def _first(x: Any) -> torch.Tensor:
    return x[0] if isinstance(x, tuple) else x


@contextmanager
def _hooks(model: torch.nn.Module, spec: ArchSpec, last: torch.Tensor) -> Iterator[dict[str, list]]:
    layers = model.get_submodule(spec.layers)
    store: dict[str, list] = {k: [None] * len(layers) for k in ("resid_in", "attn", "act", "mlp", "resid_out")}
    rows = torch.arange(last.numel(), device=last.device)

    def keep(name: str, i: int, x: torch.Tensor) -> None:
        store[name][i] = x[rows, last].detach()

    def block_hooks(i: int, block: torch.nn.Module) -> list[Hook]:
        def pre_block(_m, args, kwargs):  # noqa: ANN001
            keep("resid_in", i, args[0] if args else kwargs["hidden_states"])

        def post_block(_m, _args, out):  # noqa: ANN001
            keep("resid_out", i, _first(out))

        def post_attn(_m, _args, out):  # noqa: ANN001
            keep("attn", i, _first(out))

        def pre_mlp_out(_m, args):  # noqa: ANN001
            keep("act", i, args[0])

        def post_mlp_out(_m, _args, out):  # noqa: ANN001
            keep("mlp", i, _first(out))

        return [Hook(block, pre_block, pre=True, with_kwargs=True), Hook(block, post_block),
                Hook(block.get_submodule(spec.attn_out), post_attn),
                Hook(block.get_submodule(spec.mlp_out), pre_mlp_out, pre=True),
                Hook(block.get_submodule(spec.mlp_out), post_mlp_out)]

    with hooks(h for i, block in enumerate(layers) for h in block_hooks(i, block)):
        yield store


def pad_batch(batches: Sequence[Sequence[int]], pad_id: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Right-padded ids, attention mask and each row's last real position."""
    width = max(len(s) for s in batches)
    ids = torch.full((len(batches), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for r, seq in enumerate(batches):
        ids[r, :len(seq)] = torch.tensor(seq)
        mask[r, :len(seq)] = 1
    return ids.to(device), mask.to(device), (mask.sum(1) - 1).to(device)


@torch.no_grad()
def last_logits(model: torch.nn.Module, batches: Sequence[Sequence[int]], pad_id: int = 0) -> torch.Tensor:
    """Next-token logits at each sequence's last token ([batch, vocab], float32 on CPU); no hooks."""
    device = next(model.parameters()).device
    ids, mask, last = pad_batch(batches, pad_id, device)
    logits = model(input_ids=ids, attention_mask=mask).logits
    return logits[torch.arange(len(batches), device=device), last].float().cpu()


@torch.no_grad()
def read_last_token(model: torch.nn.Module, batches: Sequence[Sequence[int]], pad_id: int = 0) -> LastToken:
    """One forward pass over right-padded token sequences; every tensor returned is float32 on CPU."""
    spec = arch_of(model)
    device = next(model.parameters()).device
    ids, mask, last = pad_batch(batches, pad_id, device)
    with _hooks(model, spec, last) as store:
        out = model(input_ids=ids, attention_mask=mask)
    logits = out.logits[torch.arange(len(batches), device=device), last]
    stacked = {k: torch.stack(v, dim=1).float().cpu() for k, v in store.items()}
    return LastToken(**stacked, logits=logits.float().cpu())


@torch.no_grad()
def logit_lens(model: torch.nn.Module, h: torch.Tensor) -> torch.Tensor:
    """log_softmax(softcap(unembed(final_norm(h)))) over the last dimension, float32 on CPU: the
    model's own head (its norm with Gemma's ``(1 + w)``, its soft-cap where it has one)."""
    spec = arch_of(model)
    norm, unembed = model.get_submodule(spec.final_norm), model.get_submodule(spec.unembed)
    ref = next(unembed.parameters())
    out = unembed(norm(h.to(device=ref.device, dtype=compute_dtype(model))))
    return torch.log_softmax(softcap(model, out.float()), dim=-1).cpu()


def compute_dtype(model: torch.nn.Module) -> torch.dtype:
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


@torch.no_grad()
def dense_weight(module: torch.nn.Module, dtype: torch.dtype = torch.float32, chunk: int = 1024) -> torch.Tensor:
    """The [out, in] float32 matrix W with ``module(x) = x W^T + b``.

    A plain ``nn.Linear`` returns its weight; GPT-2's ``Conv1D`` its transposed weight; bitsandbytes
    4-bit and int8 weights are dequantized by bitsandbytes (the stored weight, free of the kernel's
    bf16 / int8-activation rounding). Any other linear layer (GPTQ/AWQ packed kernels,
    compressed-tensors, torchao subclasses) is dequantized by its own forward:
    W^T = module(I) - module(0), a chunk of identity rows at a time. Call it after the model's first
    forward pass: some loaders (compressed-tensors) decompress lazily in a pre-forward hook.
    """
    plain = type(module) is torch.nn.Linear and not hasattr(module, "quantization_scheme")
    if plain and not is_quantized_linear(module):
        return module.weight.detach().float().cpu()
    if type(module).__name__ == "Conv1D":
        return module.weight.detach().float().cpu().T
    weight = getattr(module, "weight", None)
    if getattr(weight, "quant_state", None) is not None:  # bitsandbytes Params4bit
        import bitsandbytes.functional as bnbf

        data, state = weight.data, weight.quant_state
        if getattr(state, "packing_format_for_cpu", False):  # bnb >= 0.49 repacks on the first CPU forward
            # the inverse rewrites the state it is given in place: hand it a copy, or the layer breaks
            data, state = bnbf._convert_weight_packed_for_cpu_inverse(data.clone(), copy.deepcopy(state))
        return bnbf.dequantize_4bit(data, state).float().cpu()
    if getattr(weight, "SCB", None) is not None and weight.dtype == torch.int8:  # bitsandbytes Int8Params
        return (weight.data.float() * weight.SCB.float()[:, None] / 127).cpu()
    n_in = getattr(module, "in_features", None)
    if n_in is None:
        raise TypeError(f"Cannot read a dense weight from {type(module).__name__}: it has no in_features")
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    zero = module(torch.zeros(1, n_in, device=device, dtype=dtype)).float()
    cols = []
    for start in range(0, n_in, chunk):
        eye = torch.eye(n_in, device=device, dtype=dtype)[start:start + chunk]
        cols.append((module(eye).float() - zero).cpu())
    return torch.cat(cols).T.contiguous()
