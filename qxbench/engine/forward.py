"""How qxbench calls a model, written once: whether its forward takes ``logits_to_keep``
(:func:`accepts_logits_to_keep`) and how many rows a batch holds (:func:`rows_per_batch`).

    model(input_ids=ids, **({"logits_to_keep": 1} if accepts_logits_to_keep(model) else {}))
"""

from __future__ import annotations

import inspect
from typing import Any


def accepts_logits_to_keep(model: Any) -> bool:
    """Whether ``model.forward`` takes ``logits_to_keep`` (transformers' causal LMs: the head runs on the
    kept positions only); a model without it computes logits at every position."""
    return "logits_to_keep" in inspect.signature(model.forward).parameters


def rows_per_batch(lm: Any) -> int:
    """``lm.batch_size`` as a number of rows: 8 where it is missing, not a positive integer, or "auto"
    (the qx model's batching and the noise floor's second composition both read it here)."""
    size = str(getattr(lm, "batch_size", 8))
    return int(size) if size.isdigit() and int(size) > 0 else 8
