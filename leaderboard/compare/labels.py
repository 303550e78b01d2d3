"""What the logged labels add to a comparison with full precision. cf_flip and nle_sim log the model's label of
each input (:func:`leaderboard.read.schema.logged_labels`, :attr:`leaderboard.read.results.TaskResult.preds`);
display.yaml says which metrics use them (``agreeing``, ``noise_floor``):

- :func:`agreeing_docs`: the documents whose label equals full precision's (a counterfactual's: and whose target
  label too, so that both rewrites were asked for the same change), over which each ``agreeing`` metric is
  compared again (its twin ``<metric>@agree``, :func:`leaderboard.compare.pairing.label_cells`);
- :func:`agreement`: ``agree_fp`` per document, for a task that does not report it (nle_sim);
- :func:`mark_noise`: a share of labels whose difference to full precision is within the config's noise
  rate (the mean of its ``noise``: labels that change with the batch composition) is marked, never better or
  worse.

Runs without labels (3.x: protocol 3's records) and without ``noise`` get none of it.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import replace

from leaderboard.compare.cell import Cell
from leaderboard.fmt import fmt
from leaderboard.read.results import TaskResult

AGREE_FP = "agree_fp"  # per document 1.0 when the config's label equals full precision's
NOISE = "noise"  # per document 1.0 when the label changes with the batch composition; its mean: the noise rate
SLACK = 1e-9  # relative: a difference equal to the rate, up to rounding, is within it


def agreeing_docs(base: TaskResult, cand: TaskResult) -> set[int] | None:
    """The documents both runs labelled under one doc_id on which the config's label equals full precision's
    and, where the runs log counterfactual targets (cf_flip 4.x: each model's own runner-up label), so does the
    target: a rewrite towards another label is another task (issue 38, item 2). The pairing
    (:func:`leaderboard.compare.pairing.changed_docs`) leaves out documents whose doc_hash differs. None when
    either run logged no labels."""
    if base.preds is None or cand.preds is None:
        return None
    same = {d for d in base.preds.keys() & cand.preds.keys() if base.preds[d] == cand.preds[d]}
    if base.targets is None or cand.targets is None:
        return same
    return {d for d in same if base.targets.get(d) == cand.targets.get(d)}


def restrict(result: TaskResult, docs: Collection[int]) -> TaskResult:
    """``result`` with the per-document values of ``docs`` only (a twin is compared over them)."""
    return replace(result, per_doc={d: v for d, v in (result.per_doc or {}).items() if d in docs})


def agreement(base: TaskResult, cand: TaskResult) -> tuple[TaskResult, TaskResult] | None:
    """``agree_fp`` per document, as the candidate and full-precision sides of a paired comparison: the
    config's 1.0 where its label equals full precision's, else 0.0 (on the documents both labelled), full
    precision's 1.0 by definition (on each it labelled). None when either run logged no labels, or either
    reports ``agree_fp`` itself (cf_flip 4.0's judge)."""
    if base.preds is None or cand.preds is None or AGREE_FP in base.metrics or AGREE_FP in cand.metrics:
        return None
    own = {d: {AGREE_FP: float(p == base.preds[d])} for d, p in cand.preds.items() if d in base.preds}
    return replace(cand, per_doc=own), replace(base, per_doc={d: {AGREE_FP: 1.0} for d in base.preds})


def noise_floor(result: TaskResult) -> tuple[float, str] | None:
    """The config's noise rate (the results' mean of ``noise``) and the note of a cell within it ("within the
    noise floor: 3 of 50 labels change with the batch composition"); None without a rate above 0."""
    rate = result.metrics.get(NOISE)
    if rate is None or not math.isfinite(rate) or rate <= 0:
        return None
    values = [v[NOISE] for v in (result.per_doc or {}).values() if NOISE in v and math.isfinite(v[NOISE])]
    labels = f"{sum(v != 0 for v in values)} of {len(values)} labels" if values else f"a share {fmt(rate)} of labels"
    return rate, f"within the noise floor: {labels} change with the batch composition"


def mark_noise(cells: list[Cell], result: TaskResult, metrics: Collection[str],
               base: TaskResult | None = None) -> list[Cell]:
    """One task's cells of a config compared with full precision, with ``within_noise`` and the note of
    :func:`noise_floor` set on each comparable cell of ``metrics`` whose |difference| is at most the
    larger noise rate of the config and of full precision (``base``: its labels can depend on the batch
    too); unchanged without a rate."""
    floors = [f for f in (noise_floor(result), noise_floor(base) if base is not None else None) if f]
    if not floors:
        return cells
    rate, note = max(floors, key=lambda f: f[0])

    def within(c: Cell) -> bool:
        return (c.metric in metrics and c.diff is not None and not c.not_comparable and math.isfinite(c.diff)
                and abs(c.diff) <= rate * (1 + SLACK))

    return [replace(c, within_noise=True, note=f"{c.note}; {note}" if c.note else note) if within(c) else c
            for c in cells]
