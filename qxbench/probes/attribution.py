"""Knowledge memorization: log-probability-increase attribution (Yu & Ananiadou 2024).

For a component output ``v`` added to a residual ``h`` and a target token ``w``, both read through
the final norm and the unembedding (:func:`~qxbench.probes.internals.logit_lens`):

    Imp(v) = log p(w | h + v) - log p(w | h)

- attention sublayer of layer l: h = block input, v = attention output;
- FFN sublayer of layer l:       h = block input + attention output, v = FFN output;
- FFN neuron i of layer l:       the same h, v = activation_i x column i of the down projection
  (dequantized first for quantized layers).

"Surviving neurons": with tau the lowest score among a reference (full-precision) model's top-300
neurons for a prompt, the count of the evaluated model's neurons scoring >= tau.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from qxbench.probes.arch import arch_of
from qxbench.probes.internals import LastToken, compute_dtype, dense_weight, logit_lens, read_last_token

TOP_K = 300


def imp(model: torch.nn.Module, h: torch.Tensor, v: torch.Tensor, target: int) -> torch.Tensor:
    """Imp of each row of ``v`` ([n, d]) added to ``h`` ([d] or [n, d]) for token ``target``."""
    h = h.expand_as(v)
    return logit_lens(model, h + v)[:, target] - logit_lens(model, h)[:, target]


def neuron_imp(model: torch.nn.Module, h: torch.Tensor, act: torch.Tensor, w_down: torch.Tensor, target: int,
               chunk: int = 2048) -> torch.Tensor:
    """Imp of every neuron of one FFN layer: ``act`` [n], ``w_down`` [d, n] -> [n]."""
    base = logit_lens(model, h[None])[0, target]
    out = []
    for start in range(0, act.numel(), chunk):
        v = act[start:start + chunk, None] * w_down[:, start:start + chunk].T
        out.append(logit_lens(model, h[None] + v)[:, target] - base)
    return torch.cat(out)


def top_k_threshold(scores: torch.Tensor, k: int = TOP_K) -> float:
    """The lowest score among the top ``k`` (all scores when there are fewer); NaN when empty."""
    if scores.numel() == 0:
        return float("nan")
    return float(torch.topk(scores.flatten(), min(k, scores.numel())).values[-1])


def count_at_least(scores: torch.Tensor, tau: float) -> int:
    return int((scores.flatten() >= tau).sum())


@dataclass(frozen=True)
class Attribution:
    """One prompt's attribution; ``str()`` (what lm-eval logs) leaves out the per-neuron scores."""

    target: int
    gold_logprob: float
    gold_rank: int  # 1 = the model's top token
    attn_imp: list[float]  # per layer
    ffn_imp: list[float]  # per layer
    neuron_scores: torch.Tensor  # [layers, neurons]

    def log(self) -> dict[str, object]:
        """Everything but the per-neuron scores (kept out of lm-eval's sample logs)."""
        return {"target": self.target, "gold_logprob": self.gold_logprob, "gold_rank": self.gold_rank,
                "attn_imp": self.attn_imp, "ffn_imp": self.ffn_imp, "tau": top_k_threshold(self.neuron_scores)}

    def __str__(self) -> str:
        return f"Attribution({self.log()})"


@torch.no_grad()
def down_weights(model: torch.nn.Module) -> list[torch.Tensor]:
    """Dense down-projection weights of every layer (quantized ones dequantized)."""
    spec = arch_of(model)
    dtype = compute_dtype(model)
    device = next(model.parameters()).device
    model(input_ids=torch.zeros(1, 1, dtype=torch.long, device=device))  # runs lazy decompression hooks
    return [dense_weight(block.get_submodule(spec.mlp_out), dtype) for block in model.get_submodule(spec.layers)]


def attribute(model: torch.nn.Module, prompts: Sequence[Sequence[int]], targets: Sequence[int],
              weights: list[torch.Tensor] | None = None, pad_id: int = 0) -> list[Attribution]:
    """Attribution of each prompt's target token at its last position (one forward pass per batch)."""
    weights = down_weights(model) if weights is None else weights
    reads: LastToken = read_last_token(model, prompts, pad_id)
    out = []
    for b, target in enumerate(targets):
        logprobs = torch.log_softmax(reads.logits[b], -1)
        attn = imp(model, reads.resid_in[b], reads.attn[b], target)
        ffn_v = reads.resid_out[b] - reads.resid_mid[b]
        ffn = imp(model, reads.resid_mid[b], ffn_v, target)
        neurons = torch.stack([neuron_imp(model, reads.resid_mid[b, layer], reads.act[b, layer], w, target)
                               for layer, w in enumerate(weights)])
        out.append(Attribution(
            target=target, gold_logprob=float(logprobs[target]), gold_rank=int((logprobs > logprobs[target]).sum()) + 1,
            attn_imp=attn.tolist(), ffn_imp=ffn.tolist(), neuron_scores=neurons,
        ))
    return out


def top_k_overlap(scores: torch.Tensor, reference: torch.Tensor, k: int = TOP_K) -> float:
    """Share of the reference's top-k neurons that are also in the top-k here (same shapes)."""
    k = min(k, reference.numel())
    if k == 0:
        return float("nan")
    mine = set(torch.topk(scores.flatten(), k).indices.tolist())
    return len(mine & set(torch.topk(reference.flatten(), k).indices.tolist())) / k


def surviving(scores: torch.Tensor, reference: torch.Tensor, k: int = TOP_K) -> int:
    return count_at_least(scores, top_k_threshold(reference, k))
