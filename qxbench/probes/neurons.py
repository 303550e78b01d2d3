"""Neuron-level statistics after Sajjad & Singh 2025, on the MLP activation (the input of the down
projection: ``act_fn(gate(x)) * up(x)`` for gated Llama-style MLPs, ``act_fn(fc(x))`` for GPT-2).

- dead neurons: |activation| < threshold on every non-padding token (a running max per neuron);
- salient neurons: integrated gradients of the model's own greedy next-token log-probability with
  respect to the activations (zero baseline, midpoint Riemann sum), aggregated over tokens four ways
  (top token = the last position, which predicts the greedy token; sum |a|; mean |a|; max |a|),
  each normalised by its maximum; neurons above 0.7 are counted per layer;
- redundancy: histogram of pairwise |Pearson r| between the neurons of a layer (0.1 bins) and the
  share of pairs above 0.9, over an evenly spaced subsample of at most ``redundancy_tokens`` tokens.

Memory stays bounded whatever the dataset size: the dead-neuron maximum is updated inside the
forward hook and the batch's activations are dropped; the redundancy sample holds at most
``redundancy_tokens`` rows per layer; the pairs are counted one block of neurons at a time, so the
neurons x neurons correlation matrix is never built (60M pairs for an 11k-neuron layer).
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch

from qxbench.errors import QxError, first_line, unknown
from qxbench.probes.arch import arch_of
from qxbench.probes.internals import pad_batch

AGGREGATIONS = ("top", "sum", "mean", "max")


@dataclass(frozen=True)
class NeuronOptions:
    layers: str = "first,middle,last"  # names or indices (negative from the end), comma-separated
    dead_threshold: float = 0.1
    salient_threshold: float = 0.7
    ig_steps: int = 20
    redundancy_tokens: int = 2048  # tokens sampled (evenly) for the correlation estimate

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> NeuronOptions:
        known = {f.name: f for f in fields(cls)}
        values = {}
        for key, value in (metadata or {}).items():
            if key not in known:
                # lm-eval's metadata also carries its own keys and the model args: skip those, but
                # stop on a near miss of an option name (a typo would otherwise go unnoticed)
                if difflib.get_close_matches(key, known, n=1, cutoff=0.8):
                    raise unknown("neurons option", key, known)
                continue
            try:
                values[key] = type(getattr(cls, key))(value) if key != "layers" else str(value)
            except (TypeError, ValueError):
                raise QxError(f"neurons option {key}={value!r} is not a {type(getattr(cls, key)).__name__}") from None
        opts = cls(**values)
        if opts.ig_steps < 1 or opts.redundancy_tokens < 2 or opts.dead_threshold < 0:
            raise QxError(f"neurons options out of range: {opts}")
        return opts

    def layer_indices(self, n_layers: int) -> list[int]:
        named = {"first": 0, "middle": n_layers // 2, "last": n_layers - 1}
        out = []
        for item in (s.strip() for s in self.layers.split(",") if s.strip()):
            if item in named:
                out.append(named[item])
                continue
            try:
                index = int(item)
            except ValueError:
                raise QxError(f"layers entry '{item}': use first, middle, last or a layer index") from None
            if not -n_layers <= index < n_layers:
                raise QxError(f"layers entry {index} is out of range for a model with {n_layers} layers")
            out.append(index % n_layers)
        return sorted(set(out))


def abs_corr_histogram(x: torch.Tensor, bins: int = 10, block: int = 1024) -> tuple[list[int], float]:
    """Pairwise |Pearson r| between the columns (neurons) of ``x`` [samples, neurons]: counts in
    ``bins`` equal bins of [0, 1] over pairs i < j (r = 1 in the last bin), and the share of pairs
    with |r| > 0.9. Built ``block`` neurons at a time, so the neurons x neurons matrix never exists.
    Pairs with an undefined r (a neuron constant on the sample) are left out."""
    x = x.double()
    std = x.std(0, unbiased=False)
    z = ((x - x.mean(0)) / std.where(std > 0, torch.nan)).float()  # NaN columns: a neuron that never varies
    n, k = z.shape[1], z.shape[0]
    counts = torch.zeros(bins, dtype=torch.long)
    above = 0
    for start in range(0, n, block):
        rows = (z[:, start:start + block].T @ z / k).abs()  # [block, n]
        upper = torch.arange(n)[None, :] > torch.arange(start, start + rows.shape[0])[:, None]
        r = rows[upper & ~rows.isnan()]
        counts += torch.bincount((r * bins).long().clamp(max=bins - 1), minlength=bins)
        above += int((r > 0.9).sum())
    total = int(counts.sum())
    return counts.tolist(), (above / total if total else math.nan)


def salient_counts(attribution: torch.Tensor, length: int, threshold: float) -> dict[str, int]:
    """``attribution`` [tokens, neurons] of one document (``length`` real tokens, the last predicts)."""
    a = attribution[:length].abs()
    vectors = {"top": a[length - 1], "sum": a.sum(0), "mean": a.mean(0), "max": a.max(0).values}
    out = {}
    for name in AGGREGATIONS:
        v = vectors[name]
        peak = float(v.max()) if v.numel() else 0.0
        out[name] = int((v / peak > threshold).sum()) if peak > 0 else 0
    return out


def integrated_gradients(model: torch.nn.Module, module: torch.nn.Module, ids: torch.Tensor, mask: torch.Tensor,
                         last: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """IG of log p(greedy token | prompt) w.r.t. ``module``'s input, zero baseline, midpoint rule.
    Returns (attribution [batch, tokens, neurons] float32 with padding zeroed, greedy targets)."""
    rows = torch.arange(ids.shape[0], device=ids.device)
    captured: dict[str, torch.Tensor] = {}
    handle = module.register_forward_pre_hook(lambda _m, args: captured.__setitem__("a", args[0].detach()))
    try:
        with torch.no_grad():
            targets = model(input_ids=ids, attention_mask=mask).logits[rows, last].argmax(-1)
    finally:
        handle.remove()
    act = captured["a"]
    total = torch.zeros(act.shape, dtype=torch.float32, device=act.device)
    for k in range(steps):
        x = ((k + 0.5) / steps * act).detach().requires_grad_(True)
        handle = module.register_forward_pre_hook(lambda _m, args, x=x: (x, *args[1:]))
        try:
            logits = model(input_ids=ids, attention_mask=mask).logits[rows, last]
            objective = torch.log_softmax(logits.float(), -1)[rows, targets].sum()
            (grad,) = torch.autograd.grad(objective, x)
        except RuntimeError as err:  # a kernel without a backward pass (inference-only quantized layers)
            raise QxError(f"Integrated gradients need gradients through every layer after {type(module).__name__}, "
                          f"and this model's layers give none: {first_line(err)}") from err
        finally:
            handle.remove()
        total += grad.float()
    return act.float() * total / steps * mask[..., None].float(), targets


@dataclass(frozen=True)
class CorpusStats:
    """Statistics over the whole evaluated set, per analysed layer."""

    layers: list[int]
    neurons: list[int]
    dead: list[int]
    tokens: int
    redundancy_hist: list[list[int]]
    redundant_share: list[float]

    @property
    def dead_fraction(self) -> float:
        return sum(self.dead) / sum(self.neurons)


@dataclass(frozen=True)
class NeuronResult:
    salient: dict[str, list[int]]  # aggregation -> count per analysed layer
    corpus: CorpusStats  # the same object for every document

    def __str__(self) -> str:
        return json.dumps({"salient": self.salient, "layers": self.corpus.layers})


def _modules(model: torch.nn.Module, options: NeuronOptions) -> tuple[list[int], list[torch.nn.Module]]:
    spec = arch_of(model)
    blocks = model.get_submodule(spec.layers)
    layers = options.layer_indices(len(blocks))
    return layers, [blocks[i].get_submodule(spec.mlp_out) for i in layers]


def corpus_stats(model: torch.nn.Module, texts: Sequence[Sequence[int]], options: NeuronOptions, batch_size: int,
                 pad_id: int = 0) -> CorpusStats:
    """Dead neurons and redundancy in one streaming pass (one forward per batch, hooks removed in finally)."""
    layers, modules = _modules(model, options)
    device = next(model.parameters()).device
    total_tokens = sum(len(t) for t in texts)
    stride = max(1, math.ceil(total_tokens / options.redundancy_tokens))

    peak: list[torch.Tensor | None] = [None] * len(layers)
    samples: list[list[torch.Tensor]] = [[] for _ in layers]  # at most ~redundancy_tokens rows each
    state: dict[str, torch.Tensor] = {}

    def stats_hook(i: int):
        def hook(_m, args):  # noqa: ANN001
            a = args[0].detach()
            top = a.abs().masked_fill(state["pad"], 0).amax(dim=(0, 1)).float().cpu()
            peak[i] = top if peak[i] is None else torch.maximum(peak[i], top)
            samples[i].append(a.reshape(-1, a.shape[-1]).index_select(0, state["sample"]).float().cpu())
        return hook

    seen = 0
    handles = [m.register_forward_pre_hook(stats_hook(i)) for i, m in enumerate(modules)]
    try:
        for start in range(0, len(texts), batch_size):
            ids, mask, _ = pad_batch(texts[start:start + batch_size], pad_id, device)
            n_real = int(mask.sum())
            state["pad"] = ~mask.bool()[..., None]
            real = mask.reshape(-1).nonzero().squeeze(1)  # flat positions of real tokens
            state["sample"] = real[(torch.arange(n_real, device=device) + seen) % stride == 0]
            seen += n_real
            with torch.no_grad():
                model(input_ids=ids, attention_mask=mask)
    finally:
        for h in handles:
            h.remove()

    hists, shares = [], []
    for rows in samples:
        hist, share = abs_corr_histogram(torch.cat(rows))
        hists.append(hist)
        shares.append(share)
    return CorpusStats(layers=layers, neurons=[int(p.numel()) for p in peak],
                       dead=[int((p < options.dead_threshold).sum()) for p in peak], tokens=total_tokens,
                       redundancy_hist=hists, redundant_share=shares)


def analyse(model: torch.nn.Module, texts: Sequence[Sequence[int]], options: NeuronOptions, batch_size: int,
            pad_id: int = 0) -> list[NeuronResult]:
    """Corpus statistics, then integrated-gradients salient-neuron counts per document."""
    corpus = corpus_stats(model, texts, options, batch_size, pad_id)
    _, modules = _modules(model, options)
    device = next(model.parameters()).device
    results: list[NeuronResult] = []
    for start in range(0, len(texts), batch_size):
        part = texts[start:start + batch_size]
        ids, mask, last = pad_batch(part, pad_id, device)
        per_layer = []
        for module in modules:
            attr, _ = integrated_gradients(model, module, ids, mask, last, options.ig_steps)
            per_layer.append([salient_counts(attr[b].cpu(), len(part[b]), options.salient_threshold)
                              for b in range(len(part))])
        for b in range(len(part)):
            results.append(NeuronResult({agg: [layer[b][agg] for layer in per_layer] for agg in AGGREGATIONS},
                                        corpus))
    return results

