"""The facts about metrics that qxbench and the leaderboard share, read from ``leaderboard/display.yaml``,
the one place they live (its header says what each key means): a probe family's ``headline`` metrics,
each metric's entry (``name``, ``higher_is_better``, ``about``: what its number means) and the rule by
which a task variant uses its family's entries (``calib_piqa`` -> ``calib``).

The reading lives here, in qxbench's library, because the library never imports the leaderboard
(``tests/leaderboard/test_sweep.py``): :mod:`leaderboard.display` builds its ``Display`` on these
functions, and :mod:`qxbench.run_report` prints a run's headlines from :func:`headlines`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from qxbench.errors import QxError

# The leaderboard package ships beside qxbench (pyproject.toml: the wheel's packages; an editable install
# points at the checkout), so its data file is found from here without importing it.
DISPLAY_FILE = Path(__file__).parents[1] / "leaderboard" / "display.yaml"


@dataclass(frozen=True)
class Headline:
    """One headline metric of a probe family, as the run report prints it."""

    metric: str
    higher_is_better: bool
    about: str

    @property
    def direction(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"


@lru_cache(maxsize=4)
def read(path: Path = DISPLAY_FILE) -> dict[str, Any]:
    """display.yaml's sections by key ({} for an empty file). Cached: never modify what it returns."""
    return yaml.safe_load(path.read_text()) or {}


def family(task: str, keys: list[str]) -> str | None:
    """``task`` itself when it is a key, else the longest key it extends (``calib_piqa`` -> ``calib``)."""
    if task in keys:
        return task
    return max((k for k in keys if task.startswith(f"{k}_")), key=len, default=None)


def names(value: object) -> tuple[str, ...]:
    """A ``headline``: one metric name, or a list of them tried in order; () when it is neither."""
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    return ()


def headline_names(probes: Mapping[str, Mapping[str, Any]], task: str) -> tuple[str, ...]:
    """The headline metrics of ``task`` in the order tried: its own ``headline`` (one name or a list), else
    its family's; () without one."""
    found = family(task, [t for t in probes if "headline" in probes[t]])
    return names(probes[found]["headline"]) if found else ()


def entry(metrics: Mapping[str, Mapping[str, Any]], task: str, metric: str) -> Mapping[str, Any]:
    """The metric's entry under ``metrics``: the task's own, else its family's (the longest task key that
    lists the metric); {} without one."""
    if metric in metrics.get(task, {}):
        return metrics[task][metric]
    found = family(task, [t for t in metrics if metric in metrics[t]])
    return metrics[found][metric] if found else {}


def about(metrics: Mapping[str, Mapping[str, Any]], task: str, metric: str) -> str:
    """What the metric's number means, in one phrase (its ``about``); an error naming the task and the
    metric where its entry has none."""
    text = entry(metrics, task, metric).get("about")
    if not isinstance(text, str) or not text:
        raise QxError(f"No about for {task}/{metric} in {DISPLAY_FILE.name}: a headline metric says in one "
                      f"phrase what its number means (about: \"...\"), not {text!r}")
    return text


def headlines(task: str, data: Mapping[str, Any] | None = None) -> tuple[Headline, ...]:
    """``task``'s headline metrics in the order tried, each with its direction and ``about`` (``data``:
    display.yaml's sections, :func:`read` by default); () when its family has none. An error naming the
    task and the metric for a headline without a direction (or ``informational``) or without ``about``."""
    data = read() if data is None else data
    metrics = data.get("metrics") or {}
    found = []
    for metric in headline_names(data.get("probes") or {}, task):
        hib = entry(metrics, task, metric).get("higher_is_better")
        if not isinstance(hib, bool) or entry(metrics, task, metric).get("informational"):
            raise QxError(f"The headline {task}/{metric} in {DISPLAY_FILE.name} needs a direction "
                          f"(higher_is_better: true or false), not {hib!r}")
        found.append(Headline(metric, hib, about(metrics, task, metric)))
    return tuple(found)
