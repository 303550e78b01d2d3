"""Metric helpers shared by several probe tasks (each task's own metrics live in its ``utils.py``)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def alias_prefix_match(completion: str, aliases: Iterable[str]) -> float:
    """1.0 when the stripped completion starts with any non-empty alias, else 0.0 (empty -> 0.0).
    Case-sensitive, as in TwoHopFact's evaluation."""
    text = completion.strip()
    return float(bool(text) and any(a and a.strip() and text.startswith(a.strip()) for a in aliases))


def nanmean(values: list[float]) -> float:
    """Mean over the defined (non-NaN) values; NaN when there are none. For metrics that are
    undefined on some documents (the perplexity of an empty rewrite)."""
    defined = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return sum(defined) / len(defined) if defined else math.nan


def total(values: list[float]) -> float:
    """Aggregation of a count: the sum over documents."""
    return float(sum(values))


def noise(pred: int, again: int | None) -> float:
    """The noise floor of one document (issue 38): 1.0 when the model's label of the same prompt changed in a
    second batch composition (:func:`qxbench.probes.scoring.labels_again`), 0.0 when it did not, NaN when
    it was not measured (another LM; results of 4.0, which had no second pass)."""
    return math.nan if again is None else float(again != pred)


def label_item(index: int, choices: Sequence[str]) -> tuple[int, str]:
    """A document's label for a corpus-level label statistic (:func:`majority_share`): (index, name). Logged
    as a pair, not a number, so that nobody pairs it per document."""
    return int(index), str(choices[index])


def majority_share(items: list[tuple[int, str]]) -> float:
    """Aggregation: the share of the documents whose label (:func:`label_item`, compared by index) is the
    most frequent one; NaN for no document. Of the predictions: ``pred_majority`` (1.0: one label for
    every input); of the gold labels: ``chance`` (the accuracy of always answering the majority label)."""
    if not items:
        return math.nan
    counts = Counter(int(item[0]) for item in items)
    return max(counts.values()) / len(items)


@dataclass(frozen=True)
class CorpusValue:
    """A statistic of the whole evaluated set (dead-neuron fraction), handed to every document.
    It is logged as text, not a number, so that nobody pairs it per document."""

    value: float

    def __str__(self) -> str:
        return f"corpus:{self.value!r}"
