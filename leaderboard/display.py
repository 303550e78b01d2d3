"""Display names and metric directions, read from ``display.yaml`` (never from code)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from qxbench.errors import QxError

DISPLAY_FILE = Path(__file__).with_name("display.yaml")


@dataclass(frozen=True)
class Display:
    probes: dict[str, dict[str, str]] = field(default_factory=dict)
    metrics: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    curves: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def curve_keys(self) -> dict[str, str]:
        """task -> the key of its per-layer curve inside each logged response."""
        return {task: curve["key"] for task, curve in self.curves.items()}

    def probe_name(self, task: str) -> str:
        return self.probes.get(task, {}).get("name", task)

    def _metric(self, task: str, metric: str) -> dict[str, Any]:
        """The YAML entry of a metric: the task's own, else its family's (``calib_piqa`` -> ``calib``)."""
        if metric in self.metrics.get(task, {}):
            return self.metrics[task][metric]
        family = max((t for t in self.metrics if task.startswith(f"{t}_") and metric in self.metrics[t]),
                     key=len, default=None)
        return self.metrics[family][metric] if family else {}

    def metric_name(self, task: str, metric: str) -> str:
        return self._metric(task, metric).get("name", metric)

    def higher_is_better(self, task: str, metric: str, from_results: bool | None) -> bool | None:
        """The YAML's direction; the results file's when the YAML has none; an error when they disagree.
        None for an ``informational`` metric (no better direction, so no degradation and no colour)."""
        entry = self._metric(task, metric)
        if entry.get("informational"):
            return None
        declared = entry.get("higher_is_better")
        if declared is None:
            if from_results is None:
                raise QxError(f"No direction for {task}/{metric}: add it to {DISPLAY_FILE.name}")
            return bool(from_results)
        if from_results is not None and bool(from_results) != bool(declared):
            raise QxError(f"Direction of {task}/{metric} in {DISPLAY_FILE.name} (higher_is_better: {declared}) "
                          f"disagrees with the results file ({from_results})")
        return bool(declared)


@lru_cache(maxsize=4)
def load_display(path: Path = DISPLAY_FILE) -> Display:
    data = yaml.safe_load(path.read_text()) or {}
    return Display(probes=data.get("probes", {}), metrics=data.get("metrics", {}), curves=data.get("curves", {}))


def fmt(x: float | None, signed: bool = False) -> str:
    """A number as the site and the gate show it: 4 significant digits, "–" for none or NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:+.4g}" if signed else f"{x:.4g}"
