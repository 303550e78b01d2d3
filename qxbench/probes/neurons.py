"""Neuron-level statistics after Sajjad & Singh 2025, on the output of each analysed layer's MLP
activation function (``ArchSpec.act`` in :mod:`qxbench.interp.arch`: ``mlp.act_fn``, i.e.
``SiLU(gate_proj(x))`` for Llama-style MLPs and ``GELU-tanh(gate_proj(x))`` for Gemma's gated MLP,
both before the product with ``up_proj``; GPT-2's ``mlp.act``), the module the reference hooks
(``src/config.py:41-48``).
Reference: MSingh-CSE/LLM-Quantization-Effects @ 75d2d49; golden values ``../shared/golden/neurons.json``.

- dead neurons (``src/5_dead_neurons.py:30-36``): -threshold < a < threshold on every non-padding token
  of the evaluated set (strict), i.e. max |a| < threshold: a running maximum per neuron;
- salient neurons: :mod:`qxbench.probes.salient` (captum integrated gradients of the model's own answer,
  four aggregations, 0.7 of the maximum); the reported statistic is, per layer, the size of the union
  over documents and aggregations (``src/3_important_neurons_final_accumulated.py:36-57``);
- redundancy (no reference code; qxbench's own, on the same activation): histogram of pairwise
  |Pearson r| between the neurons of a layer (0.1 bins) and the share of pairs above 0.9, over an evenly
  spaced subsample of at most ``redundancy_tokens`` tokens.

One forward pass per batch serves the dead neurons, the redundancy sample and the greedy next token
(the attribution target). Memory stays bounded: the maximum is updated inside the hook, the sample
holds at most ``redundancy_tokens`` rows per layer, and the pairs are counted one block of neurons at
a time (the neurons x neurons matrix is never built).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import torch

from qxbench import distributed, progress
from qxbench.engine.forward import accepts_logits_to_keep
from qxbench.errors import QxError, unknown
from qxbench.interp.arch import arch_of
from qxbench.interp.hooks import Hook, hooks
from qxbench.interp.internals import pad_batch
from qxbench.probes import salient as sal
from qxbench.probes import shards
from qxbench.probes.logged import log_text
from qxbench.probes.options import known_options
from qxbench.probes.salient import AGGREGATIONS, TOKEN_KEYS, Salient

__all__ = ["AGGREGATIONS", "NeuronOptions", "CorpusStats", "NeuronResult", "abs_corr_histogram", "act_modules",
           "corpus_stats", "analyse"]
integrated_gradients = sal.greedy_integrated_gradients  # the batched entry point tests/probes/test_quantized.py uses


@dataclass(frozen=True)
class NeuronOptions:
    layers: str = "first,middle,last"  # names or indices (negative from the end), comma-separated
    dead_threshold: float = 0.1
    salient_threshold: float = 0.7
    ig_steps: int = 50  # Gauss-Legendre nodes (captum's default, the reference's setting)
    token_keys: str = "position"  # "string": the reference's token-string keys (repeated tokens collapse)
    ig_batch_tokens: int = 1024  # tokens per IG forward pass (speed and memory only)
    redundancy_tokens: int = 2048  # tokens sampled (evenly) for the correlation estimate

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any] | None) -> NeuronOptions:
        values = {}
        for key, value in known_options(metadata, [f.name for f in fields(cls)], "neurons").items():
            kind = type(getattr(cls, key))
            try:
                values[key] = kind(value) if kind is not str else str(value)
            except (TypeError, ValueError):
                raise QxError(f"neurons option {key}={value!r} is not a {kind.__name__}") from None
        opts = cls(**values)
        if opts.token_keys not in TOKEN_KEYS:
            raise unknown("neurons token_keys", opts.token_keys, TOKEN_KEYS)
        if opts.ig_steps < 1 or opts.ig_batch_tokens < 1 or opts.redundancy_tokens < 2 or opts.dead_threshold < 0:
            raise QxError(f"neurons options out of range: {opts}")
        return opts

    def changed(self) -> dict[str, Any]:
        """The options that differ from the defaults (logged with every result)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}

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
    Pairs with an undefined r (a neuron constant on the sample) are left out; NaN share without pairs."""
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


def act_modules(model: torch.nn.Module, layers: Sequence[int]) -> list[tuple[torch.nn.Module, torch.nn.Module]]:
    """(decoder block, its MLP's activation-function module ``ArchSpec.act``) of each layer. One module
    per layer is required: a hook on a shared one would fire for every layer."""
    spec = arch_of(model)
    blocks = model.get_submodule(spec.layers)

    def act(block: torch.nn.Module) -> torch.nn.Module:
        try:
            found = block.get_submodule(spec.act)
        except AttributeError:
            found = None
        if not isinstance(found, torch.nn.Module):  # e.g. a function in place of the activation module
            raise QxError(f"The neurons probe hooks the MLP activation module '{spec.act}', and "
                          f"{type(block).__name__} has no such module")
        return found

    every = [act(b) for b in blocks]
    if len({id(m) for m in every}) < len(every):
        raise QxError(f"{type(model).__name__} shares one activation module between layers: a hook on it "
                      "cannot tell the layers apart")
    return [(blocks[i], every[i]) for i in layers]


@dataclass(frozen=True)
class CorpusStats:
    """Statistics over the whole evaluated set, per analysed layer."""

    layers: list[int]
    max_abs: list[torch.Tensor]  # per layer, max |activation| of each neuron over all real tokens
    dead_threshold: float
    tokens: int
    redundancy_hist: list[list[int]]
    redundant_share: list[float]
    salient_union: list[int] | None = None  # per layer; None until the salient neurons are computed

    @property
    def neurons(self) -> list[int]:
        return [int(m.numel()) for m in self.max_abs]

    def dead_indices(self, threshold: float | None = None) -> list[list[int]]:
        """Per layer, the neurons with -thr < a < thr on every token (max |a| < thr, strict)."""
        thr = self.dead_threshold if threshold is None else threshold
        return [(m < thr).nonzero().squeeze(1).tolist() for m in self.max_abs]

    @property
    def dead(self) -> list[int]:
        return [len(d) for d in self.dead_indices()]

    @property
    def dead_fraction(self) -> float:
        """Dead neurons over all analysed neurons; NaN when no token was seen."""
        return sum(self.dead) / sum(self.neurons) if self.tokens else math.nan


@dataclass(frozen=True)
class NeuronResult:
    """One document: its attribution target and, per analysed layer, its salient neurons (``None``
    when the target is empty: nothing to attribute)."""

    target: tuple[int, ...]
    salient: tuple[Salient, ...] | None
    corpus: CorpusStats  # the same object for every document
    options: dict[str, Any]  # NeuronOptions.changed()

    def counts(self, aggregation: str) -> float:
        """Salient neurons of one aggregation, summed over layers; NaN without a target."""
        return math.nan if self.salient is None else float(sum(len(s.neurons[aggregation]) for s in self.salient))

    def logged(self) -> NeuronLog:
        layers = self.corpus.layers
        neurons = None if self.salient is None else {
            str(layer): {a: list(s.neurons[a]) for a in AGGREGATIONS}
            for layer, s in zip(layers, self.salient, strict=True)}
        return NeuronLog(target=list(self.target), salient=neurons, layers=list(layers),
                         salient_union=self.corpus.salient_union, dead=self.corpus.dead, options=self.options)

    def __str__(self) -> str:
        return log_text(self.logged())


@dataclass(frozen=True)
class NeuronLog:
    """What is logged of one :class:`NeuronResult` (the corpus statistics only as per-layer counts)."""

    target: list[int]
    salient: dict[str, dict[str, list[int]]] | None  # layer -> aggregation -> neuron indices; None: no target
    layers: list[int]
    salient_union: list[int] | None
    dead: list[int]
    options: dict[str, Any]


def _scan(model: torch.nn.Module, texts: Sequence[Sequence[int]], options: NeuronOptions, batch_size: int,
          pad_id: int, keys: Sequence[Any] | None = None) -> tuple[CorpusStats, list[int | None]]:
    """One forward pass per batch (hooks removed in finally): dead-neuron maxima, the redundancy
    sample and each text's greedy next token (None for an empty text). ``keys``: see
    :func:`qxbench.probes.shards.layout`."""
    layers = options.layer_indices(len(model.get_submodule(arch_of(model).layers)))
    modules = [act for _, act in act_modules(model, layers)]
    device = next(model.parameters()).device
    starts, total_tokens = shards.layout(texts, keys)
    stride = max(1, math.ceil(total_tokens / options.redundancy_tokens))
    keep_arg = accepts_logits_to_keep(model)

    peak: list[torch.Tensor | None] = [None] * len(layers)
    samples: list[list[torch.Tensor]] = [[] for _ in layers]  # at most ~redundancy_tokens rows each
    sample_index: list[torch.Tensor] = []  # the sampled tokens' places in the evaluated set
    state: dict[str, torch.Tensor] = {}

    def stats_hook(i: int):
        def hook(_m, _args, out):  # noqa: ANN001
            a = out.detach()
            top = a.abs().masked_fill(state["pad"], 0).amax(dim=(0, 1)).float().cpu()
            peak[i] = top if peak[i] is None else torch.maximum(peak[i], top)
            samples[i].append(a.reshape(-1, a.shape[-1]).index_select(0, state["sample"]).float().cpu())
        return hook

    greedy: list[int | None] = [None] * len(texts)
    order = [i for i, t in enumerate(texts) if len(t)]
    with hooks(Hook(m, stats_hook(i)) for i, m in enumerate(modules)):
        for start in range(0, len(order), batch_size):
            part = order[start:start + batch_size]
            ids, mask, last = pad_batch([texts[i] for i in part], pad_id, device)
            state["pad"] = ~mask.bool()[..., None]
            real = mask.reshape(-1).nonzero().squeeze(1)  # flat positions of real tokens, text by text
            place = torch.cat([starts[i] + torch.arange(len(texts[i])) for i in part])
            pick = place % stride == 0
            state["sample"] = real[pick.to(device)]
            sample_index.append(place[pick])
            positions = torch.unique(last)  # logits only where a text ends
            with torch.no_grad():
                out = model(input_ids=ids, attention_mask=mask, **({"logits_to_keep": positions} if keep_arg else {}))
            column = torch.searchsorted(positions, last) if keep_arg else last
            rows = torch.arange(len(part), device=device)
            for i, token in zip(part, out.logits[rows, column].argmax(-1).tolist(), strict=True):
                greedy[i] = int(token)

    max_abs, rows = shards.merge(peak, sample_index, samples)
    hists, shares = [], []
    for rows_ in rows:
        hist, share = abs_corr_histogram(rows_) if rows_ is not None else ([0] * 10, math.nan)
        hists.append(hist)
        shares.append(share)
    stats = CorpusStats(layers=layers, max_abs=max_abs, dead_threshold=options.dead_threshold, tokens=total_tokens,
                        redundancy_hist=hists, redundant_share=shares)
    return stats, greedy


def corpus_stats(model: torch.nn.Module, texts: Sequence[Sequence[int]], options: NeuronOptions, batch_size: int,
                 pad_id: int = 0) -> CorpusStats:
    """Dead neurons and redundancy in one streaming pass over the texts."""
    return _scan(model, texts, options, batch_size, pad_id)[0]


def _salient(model: torch.nn.Module, tokenizer: Any, modules: list[tuple[torch.nn.Module, torch.nn.Module]],
             ids: Sequence[int], token: int | None,
             options: NeuronOptions) -> tuple[tuple[int, ...], tuple[Salient, ...] | None]:
    """One document's attribution target and its salient neurons per analysed layer; None when the
    target is empty (nothing to attribute; the reference crashes here)."""
    targets = sal.target_tokens(tokenizer, ids, token) if token is not None else []
    if not targets:
        return tuple(targets), None
    rows = sal.key_rows(ids, options.token_keys)
    outs = sal.output_rows(tokenizer, targets, options.token_keys)
    attrs = sal.layer_integrated_gradients(model, modules, ids, targets, options.ig_steps, options.ig_batch_tokens)
    return tuple(targets), tuple(sal.aggregate(a.cpu(), rows, outs, options.salient_threshold) for a in attrs)


def analyse(model: torch.nn.Module, tokenizer: Any, texts: Sequence[Sequence[int]], options: NeuronOptions,
            batch_size: int, pad_id: int = 0, keys: Sequence[Any] | None = None) -> list[NeuronResult]:
    """Corpus statistics and greedy targets in one pass, then the salient neurons of each document
    (one document at a time, the integrated-gradient steps batched), then the per-layer union. Under
    data parallelism every rank calls it with its shard and ``keys`` (see
    :func:`qxbench.probes.shards.layout`); the corpus statistics are those of all the shards together."""
    with progress.phase("dead and redundant neurons, greedy targets", len(texts)):
        corpus, greedy = _scan(model, texts, options, batch_size, pad_id, keys)
    modules = act_modules(model, corpus.layers)
    per_doc: list[tuple[tuple[int, ...], tuple[Salient, ...] | None]] = []
    with progress.phase("salient neurons (integrated gradients)", len(texts)) as bar:
        for ids, token in zip(texts, greedy, strict=True):
            per_doc.append(_salient(model, tokenizer, modules, ids, token, options))
            bar.advance()
    mine = [sorted(set().union(*(s[i].union() for _, s in per_doc if s is not None))) for i in range(len(modules))]
    union = [len(set().union(*(part[i] for part in distributed.all_gather(mine)))) for i in range(len(modules))]
    corpus = replace(corpus, salient_union=union)
    changed = options.changed()
    return [NeuronResult(target, found, corpus, changed) for target, found in per_doc]
