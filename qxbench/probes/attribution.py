"""Knowledge memorization: log-probability-increase attribution (Yu & Ananiadou 2024).

Reference: zepingyu0512/neuron-attribution, ``Llama_view_knowledge.ipynb`` (commit 1a8997d):

- ``bs(v) = lm_head(v * rsqrt(final_var + 1e-6) * norm.weight)`` (cell 1, ``get_bsvalues``): every
  vector is scaled by ONE factor per prompt, ``final_var = mean(h_L^2)`` of the last decoder layer's
  output at the last position (cell 3), times the final norm's weight, through the unembedding. The
  model's own RMSNorm is *not* applied to each vector (its eps is 1e-5; this one is 1e-6), so the
  pre-softmax contributions stay additive. ``norm="per_vector"`` (an option, not the reference)
  reads each vector through the model's final norm instead.
- ``Imp(v) = log p(bs(h + v))[t] - log p(bs(h))[t]`` (cell 5): attention sublayer (h = block input,
  v = attention output), FFN sublayer (h = block input + attention output, v = MLP output), FFN
  neuron k (same h, v = coeff_k * W_down[:, k], coeff = the input of down_proj; cell 9).
- target t: the model's top prediction (cells 3-4, ``target="top"``, the default) or the gold
  object's first token (``target="gold"``, an option that keeps the attributed token the same
  across quantized configs).
- top-300 (cells 9-10): the 300 largest neuron scores, descending; among equal scores the larger
  (layer, neuron) first, as the notebook's stable ascending sort reversed.

``method="bounded"`` (default with the reference normalisation) is exact but skips neurons that
cannot matter: with one scale ``s`` per prompt, a neuron moves the logits linearly,
``z_k = z + a_k s g_k`` with ``g_k = W_U (gamma * d_k)``, and by Jensen
``Imp_k <= a_k s (g_k[t] - p . g_k)`` (p = softmax(z)), a product of two vectors per layer. Neurons
are scored exactly (the reference formula) in decreasing order of that bound until the bound falls
below the current 300th score (and below the threshold a caller needs counted); every other neuron
provably scores lower. ``method="dense"`` scores every neuron.

"Surviving neurons": with tau the lowest score among a reference (full-precision) model's top-300
for a prompt, the count of the evaluated model's neurons scoring >= tau.

Architectures beyond the reference's Llama (:mod:`qxbench.interp.arch`; qxbench's definitions, no
reference code):

- Gemma's final norm weighs by ``(1 + w)``: ``gamma = 1 + norm.weight`` in ``bs``; a final-logit
  soft-cap (Gemma 2) is applied after the unembedding in every ``bs``, and then no neuron is linear
  in the logits: ``method=bounded`` stops with one line (use ``method=dense``).
- Gemma 2/3 apply a norm to each sublayer's output before the residual add. The attention and FFN
  sublayer scores take ``v`` = the normed output (what the block adds). A neuron's contribution is
  defined through the FFN's norm as the reference defines ``bs`` through the final norm: with ONE
  scale per prompt and layer, ``s_l = rsqrt(mean(m_l^2) + eps_l)`` of the down projection's actual
  output ``m_l`` at the last position, neuron k adds ``a_k s_l (1 + w_post) * W_down[:, k]``. These
  contributions are additive and sum exactly to the FFN output the block adds, and the bounded
  search stays exact: it runs on the effective activations ``a_k s_l`` and weights
  ``(1 + w_post) * W_down`` (:func:`down_weights`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch

from qxbench.errors import QxError, unknown
from qxbench.interp.arch import arch_of, logit_cap, softcap
from qxbench.interp.internals import LastToken, compute_dtype, dense_weight, read_last_token
from qxbench.probes.options import known_options

TOP_K = 300
REFERENCE_EPS = 1e-6  # get_bsvalues: torch.rsqrt(final_var + 1e-6)
MARGIN = 1e-4  # the bound is exact maths; float32 rounding of either side stays below 1e-5 here
CHUNK = 256  # neurons scored exactly per matrix product


@dataclass(frozen=True)
class AttributionOptions:
    """Options of ``memorize`` (``--metadata``); the defaults are the reference's definitions."""

    norm: str = "fixed"  # fixed (reference) | per_vector
    target: str = "top"  # top (reference) | gold
    method: str = "auto"  # auto (= bounded with norm=fixed, dense otherwise) | bounded | dense

    CHOICES = {"norm": ("fixed", "per_vector"), "target": ("top", "gold"), "method": ("auto", "bounded", "dense")}

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any] | None) -> AttributionOptions:
        values: dict[str, str] = {}
        for key, value in known_options(metadata, [f.name for f in fields(cls)], "memorize").items():
            if str(value) not in cls.CHOICES[key]:
                raise unknown(f"memorize {key}", value, cls.CHOICES[key])
            values[key] = str(value)
        opts = cls(**values)
        if opts.method == "bounded" and opts.norm != "fixed":
            raise QxError("memorize method=bounded needs norm=fixed (a neuron is linear in the logits only with "
                          "one scale per prompt); use method=dense with norm=per_vector")
        return opts

    @property
    def bounded(self) -> bool:
        return self.method == "bounded" or (self.method == "auto" and self.norm == "fixed")

    def as_dict(self) -> dict[str, str]:
        return {"norm": self.norm, "target": self.target, "method": "bounded" if self.bounded else "dense"}


@dataclass(frozen=True)
class Attribution:
    """One prompt's attribution (logged as :class:`qxbench.probes.results.MemorizeLog`)."""

    target: int  # the attributed token
    gold: int  # the gold object's first token
    gold_logprob: float
    gold_rank: int  # 1 = the model's top token
    attn_imp: list[float]  # per layer
    ffn_imp: list[float]  # per layer
    top: list[tuple[int, int, float]]  # the top-300 neurons (layer, neuron, score), descending
    at_least: dict[float, int]  # neurons scoring >= each threshold asked for (see ``attribute``)
    at_tau: int  # neurons scoring >= its own tau (300, or more with ties): the reference's own count
    scored: int  # neurons scored exactly (all of them with method=dense)

    @property
    def tau(self) -> float:
        """The 300th score (the lowest of the top 300); NaN without neurons."""
        return self.top[-1][2] if self.top else math.nan


def rank_top(items: Sequence[tuple[int, int, float]], k: int = TOP_K) -> list[tuple[int, int, float]]:
    """The ``k`` best (layer, neuron, score): score descending, ties by (layer, neuron) descending."""
    return sorted(items, key=lambda x: (x[2], x[0], x[1]), reverse=True)[:k]


def top_k_overlap(mine: Sequence[tuple[int, int, float]], reference: Sequence[tuple[int, int, float]]) -> float:
    """Share of the reference's top-k neurons that are also in this model's top-k; NaN when empty."""
    if not reference:
        return math.nan
    return len({(a, b) for a, b, _ in mine} & {(a, b) for a, b, _ in reference}) / len(reference)


class Lens:
    """Log-probabilities of a residual-stream vector read at the last position of one prompt.

    ``unembed_weight``: the unembedding as a float32 [vocab, hidden] matrix (:func:`dense_weight`). A model
    that computes in 16 bits then has its fixed-scale lens computed in float32 over its own weights: the
    bounded search's exactness margin (:data:`MARGIN`) holds for float32 rounding, and a bfloat16 product
    through a 151,936-token unembedding rounds by more (``benchmarks/studies/bf16_attribution.py``: bounded and
    dense top 300 shared 0.88 of their neurons in bfloat16 before). A float32 model uses its own head."""

    def __init__(self, model: torch.nn.Module, norm: str, final_resid: torch.Tensor,
                 unembed_weight: torch.Tensor | None = None) -> None:
        spec = arch_of(model)
        self.model = model
        self.norm = model.get_submodule(spec.final_norm)
        self.unembed = model.get_submodule(spec.unembed)
        self.dtype = compute_dtype(model)
        self.weight = unembed_weight if norm == "fixed" and self.dtype != torch.float32 else None
        self.device = next(self.unembed.parameters()).device
        self.fixed = norm == "fixed"
        if self.fixed:
            weight = getattr(self.norm, "weight", None)
            if weight is None or getattr(self.norm, "bias", None) is not None:
                raise QxError(f"memorize norm=fixed follows the reference's RMSNorm models; {type(model).__name__}'s "
                              f"final norm is {type(self.norm).__name__}: use norm=per_vector")
            self.gamma = weight.detach().float().cpu() + spec.norm_offset  # Gemma: (1 + w)
            self.scale = float(torch.rsqrt(final_resid.float().pow(2).mean() + REFERENCE_EPS))

    @torch.no_grad()
    def logits(self, v: torch.Tensor) -> torch.Tensor:
        """Unembedded ``v`` ([..., hidden]) as float32 on the CPU (soft-capped as the model's head)."""
        if self.fixed:
            x = (v.float() * self.scale) * self.gamma
            if self.weight is not None:  # a 16-bit model: the product in float32 (see the class docstring)
                bias = getattr(self.unembed, "bias", None)
                out = x @ self.weight.T + (bias.detach().float().cpu() if bias is not None else 0.0)
                return softcap(self.model, out)
        else:
            x = self.norm(v.to(device=self.device, dtype=self.dtype))
        return softcap(self.model, self.unembed(x.to(device=self.device, dtype=self.dtype)).float()).cpu()

    def logprob(self, v: torch.Tensor, token: int) -> torch.Tensor:
        return torch.log_softmax(self.logits(v), -1)[..., token]


@torch.no_grad()
def down_weights(model: torch.nn.Module) -> list[torch.Tensor]:
    """Dense [hidden, neurons] down-projection weights of every layer (quantized ones dequantized);
    where a norm follows the down projection (Gemma 2/3), its ``(offset + w)`` weight is folded in:
    the FFN's contribution per unit of effective activation (see :func:`ffn_scales`)."""
    spec = arch_of(model)
    dtype = compute_dtype(model)
    device = next(model.parameters()).device
    model(input_ids=torch.zeros(1, 1, dtype=torch.long, device=device))  # runs lazy decompression hooks
    out = []
    for block in model.get_submodule(spec.layers):
        w = dense_weight(block.get_submodule(spec.mlp_out), dtype)
        if spec.ffn_norm is not None:
            gamma = block.get_submodule(spec.ffn_norm).weight.detach().float().cpu() + spec.norm_offset
            w = gamma[:, None] * w
        out.append(w)
    return out


def ffn_scales(model: torch.nn.Module, mlp: torch.Tensor) -> torch.Tensor:
    """Per layer, the fixed factor ``s_l = rsqrt(mean(m_l^2) + eps_l)`` of the norm after the down
    projection at its actual output ``m_l`` (``mlp``: [layers, hidden]); ones without such a norm."""
    spec = arch_of(model)
    if spec.ffn_norm is None:
        return torch.ones(mlp.shape[0])
    eps = [_eps(block.get_submodule(spec.ffn_norm)) for block in model.get_submodule(spec.layers)]
    return torch.rsqrt(mlp.float().pow(2).mean(-1) + torch.tensor(eps))


def _eps(norm: torch.nn.Module) -> float:
    for name in ("eps", "variance_epsilon"):
        if isinstance(getattr(norm, name, None), float):
            return getattr(norm, name)
    raise QxError(f"memorize reads the norm after the FFN through its epsilon, and {type(norm).__name__} has none")


def _exact(lens: Lens, resid: torch.Tensor, acts: torch.Tensor, weights: list[torch.Tensor],
           groups: Sequence[tuple[int, torch.Tensor]], token: int, base: torch.Tensor) -> list[torch.Tensor]:
    """The reference formula, log p(bs(r_l + a_k d_k))[t] - log p(bs(r_l))[t], for the neurons ``idx`` of
    each ``(layer, idx)`` group: one product through the unembedding for all of them (each one reads
    the whole [vocab, hidden] matrix). ``base``: log p(bs(r_l))[t] per layer."""
    rows = torch.cat([resid[layer][None] + acts[layer, idx, None] * weights[layer][:, idx].T for layer, idx in groups])
    offset = torch.cat([base[layer].expand(len(idx)) for layer, idx in groups])
    return list((lens.logprob(rows, token) - offset).split([len(idx) for _, idx in groups]))


def _bounds(lens: Lens, logits: torch.Tensor, acts: torch.Tensor, weights: list[torch.Tensor], token: int,
            w_unembed: torch.Tensor) -> torch.Tensor:
    """Jensen's upper bound of every neuron's score ([layers, neurons]), see the module docstring;
    ``logits``: the lens's logits of each layer's residual ([layers, vocab])."""
    p = torch.softmax(logits, -1)
    direction = (w_unembed[token] - p @ w_unembed) * lens.gamma  # [layers, hidden]
    return torch.stack([acts[layer] * lens.scale * (direction[layer] @ w) for layer, w in enumerate(weights)])


def _scored(groups: Sequence[tuple[int, torch.Tensor]], scores: list[torch.Tensor]) -> list[tuple[int, int, float]]:
    return [(layer, int(i), float(x)) for (layer, idx), s in zip(groups, scores, strict=True)
            for i, x in zip(idx.tolist(), s.tolist(), strict=True)]


def _neurons(lens: Lens, resid: torch.Tensor, logits: torch.Tensor, acts: torch.Tensor, weights: list[torch.Tensor],
             token: int, thresholds: Sequence[float],
             w_unembed: torch.Tensor | None) -> tuple[list, dict[float, int], int, int]:
    """Exact scores of the neurons that can reach the top 300 or a threshold, ``CHUNK`` at a time:
    (top, counts at the thresholds, count at its own tau, neurons scored). ``logits``: the lens's
    logits of each layer's residual ``resid`` ([layers, vocab])."""
    base = torch.log_softmax(logits, -1)[:, token]
    n = acts.shape[1]
    scored: list[tuple[int, int, float]] = []
    if w_unembed is None:  # dense: every neuron
        order = torch.arange(len(weights) * n)
    else:
        bound = _bounds(lens, logits, acts, weights, token, w_unembed).flatten()
        order = torch.argsort(bound, descending=True)
    floor = min(thresholds, default=math.inf)
    best: list[float] = []  # the exact top-300 scores so far (kept sorted, descending)
    for start in range(0, order.numel(), CHUNK):
        ids = order[start:start + CHUNK]
        need = min(best[TOP_K - 1] if len(best) >= TOP_K else -math.inf, floor)
        if w_unembed is not None and float(bound[ids[0]]) < need - MARGIN:
            break  # every neuron left is bounded below what could still count
        layer_of = ids.div(n, rounding_mode="floor")
        groups = [(layer, ids[layer_of == layer] % n) for layer in layer_of.unique().tolist()]
        scored += _scored(groups, _exact(lens, resid, acts, weights, groups, token, base))
        best = sorted((x for _, _, x in scored), reverse=True)[:TOP_K]
    top = rank_top(scored)
    counts = {t: sum(x >= t for _, _, x in scored) for t in thresholds}
    own = sum(x >= top[-1][2] for _, _, x in scored) if top else 0
    return top, counts, own, len(scored)


def attribute(model: torch.nn.Module, prompts: Sequence[Sequence[int]], gold: Sequence[int],
              options: AttributionOptions = AttributionOptions(), weights: list[torch.Tensor] | None = None,
              pad_id: int = 0, thresholds: Sequence[Sequence[float]] | None = None) -> list[Attribution]:
    """Attribution at each prompt's last position (one forward pass for the batch); ``thresholds[b]``
    are scores whose ``>=`` counts prompt ``b`` needs (the reference's tau for surviving neurons)."""
    if options.bounded and logit_cap(model) is not None:
        raise QxError(f"memorize method=bounded needs logits linear in each neuron, and {type(model).__name__} "
                      f"soft-caps its logits (final_logit_softcapping={logit_cap(model)}): use method=dense")
    weights = down_weights(model) if weights is None else weights
    reads: LastToken = read_last_token(model, prompts, pad_id)
    float32_lens = compute_dtype(model) != torch.float32 and options.norm == "fixed"  # see Lens
    w_unembed = (dense_weight(model.get_submodule(arch_of(model).unembed))
                 if options.bounded or float32_lens else None)
    out = []
    for b, gold_token in enumerate(gold):
        logprobs = torch.log_softmax(reads.logits[b], -1)
        target = int(logprobs.argmax()) if options.target == "top" else int(gold_token)
        lens = Lens(model, options.norm, reads.resid_out[b, -1], w_unembed)
        h, mid = reads.resid_in[b], reads.resid_mid[b]
        # Imp of each sublayer, log p(bs(h + v))[t] - log p(bs(h))[t], all layers in one product
        z = lens.logits(torch.cat([h, h + reads.attn[b], mid, mid + (reads.resid_out[b] - mid)])).view(4, len(h), -1)
        lp = torch.log_softmax(z, -1)[..., target]
        attn, ffn = lp[1] - lp[0], lp[3] - lp[2]
        asked = [t for t in (thresholds[b] if thresholds else ()) if not math.isnan(t)]
        acts = reads.act[b] * ffn_scales(model, reads.mlp[b])[:, None]  # the effective activations a_k s_l
        top, counts, own, scored = _neurons(lens, mid, z[2], acts, weights, target, asked,
                                            w_unembed if options.bounded else None)
        out.append(Attribution(
            target=target, gold=int(gold_token), gold_logprob=float(logprobs[gold_token]),
            gold_rank=int((logprobs > logprobs[gold_token]).sum()) + 1, attn_imp=attn.tolist(), ffn_imp=ffn.tolist(),
            top=top, at_least=counts, at_tau=own, scored=scored,
        ))
    return out
