"""A metric's twin: its comparison again over the documents whose label equals full precision's
(display.yaml ``agreeing``; :func:`leaderboard.compare.labels.agreeing_docs`), named ``<metric>@agree``."""

from __future__ import annotations

AGREE = "@agree"  # a metric's twin over the documents whose label equals full precision's (display.yaml `agreeing`)


def twin(metric: str) -> str:
    """The name of ``metric``'s comparison over the label-agreeing documents: ``flip_rate@agree``."""
    return metric + AGREE


def twin_of(metric: str) -> str | None:
    """The metric a twin (:func:`twin`) restricts; None for any other metric."""
    return metric.removesuffix(AGREE) if metric.endswith(AGREE) else None
