"""Latent multi-hop reasoning (Yang et al. 2024, TwoHopFact).

EntRec^l = log_softmax(FinalNorm(h^l_t) W_U)[e2's first token], h^l_t the residual after block l at
the last token t of the descriptive mention (the prompt cut after the mention), for every layer.

CnstScore = -1/2 [H(p1, p2) + H(p2, p1)], H(p, q) = -sum p log q, between the next-token
distributions p1 of the two-hop prompt and p2 of the one-hop r2(e2) prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from qxbench.interp.internals import logit_lens, read_last_token


def cross_entropy(p_log: torch.Tensor, q_log: torch.Tensor) -> torch.Tensor:
    """H(p, q) = -sum p log q from log-probabilities (last dimension)."""
    return -(p_log.exp() * q_log).sum(-1)


def cnst_score(p1_log: torch.Tensor, p2_log: torch.Tensor) -> torch.Tensor:
    return -0.5 * (cross_entropy(p1_log, p2_log) + cross_entropy(p2_log, p1_log))


@dataclass(frozen=True)
class MultiHop:
    entrec: list[float]  # per layer, after block 1..L
    cnst: float


def probe(model: torch.nn.Module, cut: Sequence[Sequence[int]], two_hop: Sequence[Sequence[int]],
          one_hop: Sequence[Sequence[int]], bridge_tokens: Sequence[int], pad_id: int = 0) -> list[MultiHop]:
    """One forward pass over all three prompt sets of a batch; every layer read by the logit lens."""
    n = len(cut)
    reads = read_last_token(model, [*cut, *two_hop, *one_hop], pad_id)
    lens = logit_lens(model, reads.resid_out[:n])  # [n, layers, vocab]
    entrec = lens[torch.arange(n), :, torch.tensor(list(bridge_tokens))]  # [n, layers]
    final = torch.log_softmax(reads.logits, -1)
    cnst = cnst_score(final[n:2 * n], final[2 * n:])
    return [MultiHop(entrec[i].tolist(), float(cnst[i])) for i in range(n)]
