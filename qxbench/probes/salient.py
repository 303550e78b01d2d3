"""Salient neurons after Sajjad & Singh 2025, as their code computes them.

Reference: MSingh-CSE/LLM-Quantization-Effects @ 75d2d49 (golden values: ``../shared/golden/neurons.json``).

- **Target** (``src/1_generate_attributions.py:55-80``): the model's greedy next token, decoded with
  ``skip_special_tokens``, stripped, and re-encoded without special tokens (so ``" A"`` becomes ``"A"``;
  a special token becomes the empty target, see below).
- **Attribution** (``src/1_generate_attributions.py:116-127``, ``llm_attr.py:475-580``): captum's
  ``LayerIntegratedGradients`` on the output of the layer's ``act_fn`` module, target
  ``log_softmax(logits[-1])[t_k]`` on ``prompt + t_<k`` for each target token t_k, baseline = the prompt
  with every token replaced by id 0, 50 Gauss-Legendre steps, multiplied by inputs. One ``[T, neurons]``
  array per target token (rows of the appended target tokens dropped, ``llm_attr.py:547``).
- **Keys** (``llm_attr.py:547``): the reference keys rows by token *string* (and target tokens by
  decoded string), so a repeated input token keeps only its last occurrence, ordered by its first.
  ``token_keys="string"`` reproduces that; the default ``"position"`` keeps every position (the intent).
- **Aggregations** (``src/2_extract_important_neuron.py:26-145``), over keys k with vectors v_k (summed
  over target tokens): ``best_word`` = v_k* with k* the first argmax of the sequence attribution
  ``sum_j v_k[j]``; ``sum`` = sum_k |v_k|; ``avg`` = sum / number of keys; ``max`` = elementwise signed
  max_k v_k. Each vector is normalised to |v| / max|v| and neurons with a score > ``threshold`` (0.7,
  strict) are salient, by decreasing score; a vector without a positive maximum gives none.
- **Reported statistic** (``src/3_important_neurons_final_accumulated.py:36-57``): per layer, the size
  of the union over documents and the four aggregations.

Empty target: the reference crashes (``torch.cat`` of no arrays, ``llm_attr.py:561``); here such a
document has no attribution: no salient neurons, left out of the per-document means (NaN).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from qxbench.engine.forward import accepts_logits_to_keep
from qxbench.errors import QxError, first_line
from qxbench.interp.hooks import Hook, hooks

AGGREGATIONS = ("best_word", "sum", "avg", "max")
TOKEN_KEYS = ("position", "string")


@dataclass(frozen=True)
class Salient:
    """One document at one layer: aggregation -> salient neuron indices, by decreasing normalised score."""

    neurons: dict[str, tuple[int, ...]]
    scores: dict[str, tuple[float, ...]]  # the normalised scores of those neurons, same order
    keys: int  # number of input-token keys aggregated (positions, or distinct token strings)
    best_key: int  # the position whose row is the best_word vector

    def union(self) -> set[int]:
        return set().union(*self.neurons.values())


def target_tokens(tokenizer: Any, prompt: Sequence[int], generated: int) -> list[int]:
    """The attribution target: the generated text after the prompt, special tokens skipped, stripped,
    re-encoded without special tokens (``1_generate_attributions.py:55-80``). ``[]`` when nothing is left."""
    full = tokenizer.decode([*prompt, generated], skip_special_tokens=True)
    text = full[len(tokenizer.decode(list(prompt), skip_special_tokens=True)):].strip()
    return list(tokenizer.encode(text, add_special_tokens=False)) if text else []


def key_rows(ids: Sequence[int], token_keys: str) -> list[int]:
    """The positions that stand for the input-token keys, in key order: every position, or (``string``)
    one per distinct token, ordered by first occurrence, holding the row of its last occurrence."""
    if token_keys == "position":
        return list(range(len(ids)))
    if token_keys != "string":
        raise QxError(f"token_keys '{token_keys}': use {' or '.join(TOKEN_KEYS)}")
    last: dict[int, int] = {}
    for p, token in enumerate(ids):  # a dict keeps the first insertion's order and the last value
        last[token] = p
    return list(last.values())


def salient_indices(vector: torch.Tensor, threshold: float) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Indices with |v| / max|v| > threshold, by decreasing score, and their scores; none when
    max|v| is not positive (all zeros, or NaN). ``2_extract_important_neuron.py:26-44``."""
    a = vector.double().abs()
    peak = float(a.max()) if a.numel() else 0.0
    if not peak > 0:
        return (), ()
    x = a / peak
    keep = (x > threshold).nonzero().squeeze(1)
    order = keep[x[keep].argsort(descending=True, stable=True)]
    return tuple(int(i) for i in order), tuple(float(x[i]) for i in order)


def vectors(attributions: torch.Tensor, rows: Sequence[int],
            output_rows: Sequence[int]) -> tuple[dict[str, torch.Tensor], torch.Tensor, int]:
    """The four aggregated vectors of one document (float64, before normalisation), the sequence
    attribution of each key, and the index of the best key, from ``attributions`` [targets, T, neurons].

    ``rows``: the key positions (:func:`key_rows`); ``output_rows``: the target tokens summed into the
    neuron vectors (all, or one per distinct decoded string under string keys). The sequence attribution
    that picks the best word sums over *all* target tokens in float32, as captum's ``seq_attr``
    (``llm_attr.py:561`` and the ``attr.sum(0)`` after it). Float64 otherwise, as the reference after
    its JSON round trip (``1_generate_attributions.py:129-148``). Needs at least one key."""
    a = attributions.double()
    keyed = a[list(output_rows)][:, list(rows)].sum(0)  # [keys, neurons]
    seq = a.float().sum(-1).sum(0).double()[list(rows)]
    best = int(torch.argmax(seq))  # the first maximum, as Python's max over the reference's dict
    total = keyed.abs().sum(0)
    return {"best_word": keyed[best], "sum": total, "avg": total / len(rows), "max": keyed.max(0).values}, seq, best


def aggregate(attributions: torch.Tensor, rows: Sequence[int], output_rows: Sequence[int],
              threshold: float) -> Salient:
    """Salient neurons of one document (see :func:`vectors`); none without keys (an empty prompt)."""
    if not len(rows):
        return Salient({a: () for a in AGGREGATIONS}, {a: () for a in AGGREGATIONS}, 0, -1)
    found, seq, best = vectors(attributions, rows, output_rows)
    neurons, scores = {}, {}
    for name in AGGREGATIONS:
        neurons[name], scores[name] = salient_indices(found[name], threshold)
    return Salient(neurons, scores, len(rows), rows[best])


def output_rows(tokenizer: Any, targets: Sequence[int], token_keys: str) -> list[int]:
    """Target tokens summed into the neuron vectors: all, or (``string``) the last of each distinct
    decoded string (``llm_attr.py:547`` keys its dict by ``tokenizer.decode(token)``)."""
    if token_keys == "position":
        return list(range(len(targets)))
    last: dict[str, int] = {}
    for k, token in enumerate(targets):
        last[tokenizer.decode(token)] = k
    return list(last.values())


@contextmanager
def _no_parameter_grads(model: torch.nn.Module) -> Iterator[None]:
    """Gradients flow to the attributed activations only: no graph is kept for the layers before them."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    try:
        for p, _ in flags:
            p.requires_grad_(False)
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


@contextmanager
def _contiguous_head(model: torch.nn.Module) -> Iterator[None]:
    """The output embedding gets a contiguous input. With ``logits_to_keep`` the model hands it the strided
    slice ``hidden[:, -1:]``, which ``F.linear`` on the CPU computes as a batched product over copies of
    the [vocab, hidden] weight: 8x slower than one matrix product, forward and backward, for 50 rows of
    SmolLM2 (the same values up to float32 rounding)."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    with hooks([Hook(head, lambda _m, args: (args[0].contiguous(), *args[1:]) if args else None, pre=True)]
               if head is not None else []):
        yield


@contextmanager
def _run_once_before(block: torch.nn.Module | None, rows: int) -> Iterator[None]:
    """Every row of an IG pass is the same token sequence (only the hooked activation is scaled), so the
    blocks before ``block`` run on one row and ``block`` receives it repeated ``rows`` times."""
    def widen(_m, args, kwargs):  # noqa: ANN001
        if args:
            return (args[0].expand(rows, *args[0].shape[1:]).contiguous(), *args[1:]), kwargs
        h = kwargs["hidden_states"]
        return args, {**kwargs, "hidden_states": h.expand(rows, *h.shape[1:]).contiguous()}

    with hooks([Hook(block, widen, pre=True, with_kwargs=True)] if block is not None and rows > 1 else []):
        yield


@contextmanager
def _replaced(module: torch.nn.Module, value: torch.Tensor) -> Iterator[None]:
    """``module`` outputs ``value`` instead of what it computes (the point on the integration path)."""
    with hooks([Hook(module, lambda _m, _args, _out: value)]):
        yield


def _outputs(model: torch.nn.Module, modules: Sequence[torch.nn.Module], ids: torch.Tensor,
             keep: dict[str, int]) -> list[torch.Tensor]:
    """Each module's output on one forward pass of ``ids`` (no gradients; hooks removed in finally)."""
    found: list[torch.Tensor | None] = [None] * len(modules)

    def record(i: int):
        return lambda _m, _args, out: found.__setitem__(i, out.detach())

    with hooks(Hook(m, record(i)) for i, m in enumerate(modules)), torch.no_grad():
        model(input_ids=ids, use_cache=False, **keep)
    return found  # type: ignore[return-value]


def _log_p(model: torch.nn.Module, full: torch.Tensor, keep: dict[str, int], block: torch.nn.Module | None,
           module: torch.nn.Module, token: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """point [rows, tokens, neurons] on the path -> log p(token | full) with ``module``'s output replaced by it."""
    def log_p(point: torch.Tensor) -> torch.Tensor:
        rows = point.shape[0]
        with _replaced(module, point):
            if block is not None:
                with _run_once_before(block, rows):
                    logits = model(input_ids=full, use_cache=False, **keep).logits[:, -1]
            else:
                logits = model(input_ids=full.expand(rows, -1), use_cache=False, **keep).logits[:, -1]
        return torch.log_softmax(logits.float(), -1)[:, token]
    return log_p


def integrated_gradients(model: torch.nn.Module, module: torch.nn.Module, ids: Sequence[int],
                         targets: Sequence[int], steps: int = 50, batch_tokens: int = 1024,
                         block: torch.nn.Module | None = None) -> torch.Tensor:
    """:func:`layer_integrated_gradients` of one layer: [len(targets), len(ids), neurons] float32."""
    return layer_integrated_gradients(model, [(block, module)], ids, targets, steps, batch_tokens)[0]


def layer_integrated_gradients(model: torch.nn.Module, layers: Sequence[tuple[torch.nn.Module | None, torch.nn.Module]],
                               ids: Sequence[int], targets: Sequence[int], steps: int = 50,
                               batch_tokens: int = 1024) -> list[torch.Tensor]:
    """captum ``LayerIntegratedGradients`` of log p(t_k | ids + t_<k) w.r.t. each ``(block, module)``'s
    output, baseline ids 0, ``steps`` Gauss-Legendre nodes, at most ``batch_tokens`` tokens per forward
    pass; per layer [len(targets), len(ids), neurons] float32 (rows of the prompt only).

    As captum's ``LayerIntegratedGradients`` computes it (``layer_integrated_gradients.py``: the layer's
    output on the input and on the baseline, then ``IntegratedGradients`` over that output with the
    layer's output replaced by each point of the path), except that the two endpoint passes serve every
    layer at once: two forward passes per target token instead of two per layer (same values: the same
    forward pass on the same ids). ``block``: the decoder block that holds ``module``; the blocks before
    it then run once per pass instead of once per step (same values: their input is the same sequence
    in every step)."""
    from captum.attr import IntegratedGradients

    device = next(model.parameters()).device
    x = torch.tensor([list(ids)], dtype=torch.long, device=device)
    keep = {"logits_to_keep": 1} if accepts_logits_to_keep(model) else {}
    out: list[list[torch.Tensor]] = [[] for _ in layers]
    with _no_parameter_grads(model), _contiguous_head(model):
        for k, token in enumerate(targets):
            prefix = torch.tensor([list(targets[:k])], dtype=torch.long, device=device)
            full = torch.cat([x, prefix], 1)
            ends = _outputs(model, [m for _, m in layers], full, keep)
            starts = _outputs(model, [m for _, m in layers], torch.cat([torch.zeros_like(x), prefix], 1), keep)
            per_pass = max(1, batch_tokens // full.shape[1])
            for (block, module), end, start, sink in zip(layers, ends, starts, out, strict=True):
                try:
                    attr = IntegratedGradients(_log_p(model, full, keep, block, module, token)).attribute(
                        end, baselines=start, n_steps=steps, method="gausslegendre",
                        internal_batch_size=per_pass if per_pass < steps else None)
                except RuntimeError as err:  # a kernel without a backward pass (inference-only quantized layers)
                    raise QxError(f"Integrated gradients need gradients through every layer after "
                                  f"{type(module).__name__}, and this model's layers give none: "
                                  f"{first_line(err)}") from err
                sink.append(attr[0, :len(ids)].float())
    return [torch.stack(o) if o else torch.zeros(0, len(ids), 0) for o in out]


def greedy_integrated_gradients(model: torch.nn.Module, module: torch.nn.Module, ids: torch.Tensor,
                                mask: torch.Tensor, last: torch.Tensor,
                                steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`integrated_gradients` of each right-padded row's greedy next token (the raw token id, not
    re-encoded), one row at a time: ([batch, tokens, neurons] with padding rows zero, the tokens)."""
    with torch.no_grad():
        targets = model(input_ids=ids, attention_mask=mask).logits[torch.arange(len(ids)), last].argmax(-1)
    rows = [integrated_gradients(model, module, ids[b, :int(mask[b].sum())].tolist(), [int(targets[b])], steps)[0]
            for b in range(len(ids))]
    out = torch.zeros(len(ids), ids.shape[1], rows[0].shape[-1])
    for b, row in enumerate(rows):
        out[b, :row.shape[0]] = row
    return out, targets
