"""The answers of cf_flip and nle_sim protocol 3 (versions 3.x), as their committed runs logged them: read
by the migration of :mod:`qxbench.probes.logged` only (no probe returns them any more). Protocol 4
added what the answer was (``kind``) and more; these types keep 3.x's fields, nothing invented."""

from __future__ import annotations

from dataclasses import dataclass

from qxbench.probes.selfexplain import Inserted


@dataclass(frozen=True)
class Counterfactual3:
    pred: int
    target: int
    rewrite: str  # the edited part rewritten; the fixed part is the document's
    rewrite_pred: int | None  # None for an empty rewrite (nothing to classify)
    ppl: float
    ref_ppl: float | None  # None when no reference model is given
    ref_pred: int | None = None  # the reference's label of the input; None without a reference
    ref_rewrite_pred: int | None = None  # the reference's label of the rewrite; None also for an empty rewrite
    prompts: str = "completion-0"


@dataclass(frozen=True)
class Explanation3:
    pred: int
    explanation: str
    inserted: str
    inserted_pred: int
    inserted_explanation: str
    insertions: tuple[Inserted, ...] = ()
    prompts: str = "completion-0"
