"""The neurons probe's corpus statistics over data-parallel shards (:mod:`qxbench.distributed`).

Under ``accelerate launch`` each rank holds every ``world``-th document; the dead-neuron maxima, the
redundancy sample and the token count must still be those of the whole evaluated set, as in one
process. Each rank places its tokens in the set (:func:`layout`), samples the same token positions a
single process would, and the ranks' partial statistics are combined (:func:`merge`). In a single
process both are the identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from qxbench import distributed


def layout(texts: Sequence[Sequence[int]], keys: Sequence[Any] | None) -> tuple[list[int], int]:
    """Where each text's first token stands in the evaluated set (the texts of every rank, in the order
    of their keys: lm-eval's document ids) and the set's size in tokens. In a single process the texts
    are the set, in order; under data parallelism (:mod:`qxbench.distributed`) each rank holds a shard,
    and the same token sample is drawn as in one process."""
    mine = list(zip(range(len(texts)) if keys is None else keys, (len(t) for t in texts), strict=True))
    starts: dict[Any, int] = {}
    offset = 0
    for key, n in sorted(item for part in distributed.all_gather(mine) for item in part):
        starts[key] = offset
        offset += n
    return [starts[key] for key, _ in mine], offset


def merge(peak: list[torch.Tensor | None], sample_index: list[torch.Tensor], samples: list[list[torch.Tensor]]
          ) -> tuple[list[torch.Tensor], list[torch.Tensor | None]]:
    """Every rank's maxima (elementwise maximum) and redundancy rows (in token order); a single process's own."""
    parts = distributed.all_gather((peak, torch.cat(sample_index) if sample_index else torch.zeros(0, dtype=torch.long),
                                    [torch.cat(rows) if rows else None for rows in samples]))
    max_abs = []
    for i in range(len(peak)):
        seen = [p[0][i] for p in parts if p[0][i] is not None]
        max_abs.append(torch.stack(seen).amax(0) if seen else torch.zeros(0))  # no token seen: no neuron counted
    order = torch.argsort(torch.cat([p[1] for p in parts]))
    rows = [[p[2][i] for p in parts if p[2][i] is not None] for i in range(len(peak))]
    return max_abs, [torch.cat(r)[order] if r else None for r in rows]
