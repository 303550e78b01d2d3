"""Display names, metric directions, headline metrics, validity guards (:class:`Guard`, applied by
:mod:`leaderboard.compare.guards`), the metrics compared again over the label-agreeing documents (``agreeing``:
their twins ``<metric>@agree``) and the shares of labels marked within the noise floor (``noise_floor``), read
from ``display.yaml`` (never from code).

Every room of the leaderboard reads these declarations (and qxbench's run report reads the same file through
:mod:`qxbench.metric_facts`): this module imports none of the rooms."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from leaderboard.twins import twin, twin_of
from qxbench import metric_facts as facts
from qxbench.errors import QxError, unknown
from qxbench.metric_facts import DISPLAY_FILE

AGREE_NAME = " (label = FP's)"
COLLAPSES = ("chance_or_zero",)
KEYS = ("metric", "collapse", "rises_by", "at_least", "affects")
RULES = "collapse: chance_or_zero, rises_by: NUMBER and at_least: NUMBER (with affects: [METRIC, ...])"


@dataclass(frozen=True)
class Guard:
    metric: str  # what the task's other metrics depend on
    collapse: str = ""  # "chance_or_zero" or ""
    rises_by: float | None = None  # the largest rise that still leaves the other metrics comparable
    at_least: float | None = None  # the guard metric's value, in the config or full precision, that fires it
    affects: tuple[str, ...] = ()  # at_least: the metrics it makes not comparable (the others are left alone)


def _number(value: object) -> bool:
    """A finite number >= 0 (a YAML boolean is not one)."""
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value) and value >= 0


def parse_guard(entry: object, where: str) -> Guard:
    """One ``guards:`` entry of ``display.yaml``: ``{metric: acc, collapse: chance_or_zero}``,
    ``{metric: empty_rate, rises_by: 0.1}`` or
    ``{metric: pred_majority, at_least: 0.9, affects: [flip_rate, target_rate]}``."""
    if not isinstance(entry, dict) or not isinstance(entry.get("metric"), str):
        raise QxError(f"display.yaml guards of {where}: {entry!r} is not {{metric: NAME, collapse: chance_or_zero}}, "
                      "{metric: NAME, rises_by: NUMBER} or {metric: NAME, at_least: NUMBER, affects: [METRIC, ...]}")
    for key in entry:
        if key not in KEYS:
            raise unknown(f"key in display.yaml guards of {where}", key, KEYS)
    collapse, rises, least = entry.get("collapse", ""), entry.get("rises_by"), entry.get("at_least")
    if collapse and collapse not in COLLAPSES:
        raise unknown(f"collapse rule in display.yaml guards of {where}", collapse, COLLAPSES)
    for key, value in (("rises_by", rises), ("at_least", least)):
        if value is not None and not _number(value):
            raise QxError(f"display.yaml guards of {where}: {key} must be a finite number >= 0, not {value!r}")
    if sum((bool(collapse), rises is not None, least is not None)) != 1:
        raise QxError(f"display.yaml guards of {where}: the guard of {entry['metric']} needs exactly one of {RULES}")
    affects = entry.get("affects")
    if least is None and affects is not None:
        raise QxError(f"display.yaml guards of {where}: affects is for at_least only (the guard of "
                      f"{entry['metric']}: collapse and rises_by make every other metric not comparable)")
    if least is not None and (not isinstance(affects, list) or not affects
                              or not all(isinstance(m, str) and m for m in affects)):
        raise QxError(f"display.yaml guards of {where}: the at_least guard of {entry['metric']} needs affects: "
                      f"[METRIC, ...], a non-empty list of the metrics it makes not comparable, not {affects!r}")
    if least is not None and entry["metric"] in affects:
        raise QxError(f"display.yaml guards of {where}: the guard of {entry['metric']} cannot affect itself")
    return Guard(entry["metric"], collapse, None if rises is None else float(rises),
                 None if least is None else float(least), tuple(affects or ()))


@dataclass(frozen=True)
class Display:
    probes: dict[str, dict[str, str]] = field(default_factory=dict)
    metrics: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    curves: dict[str, dict[str, str]] = field(default_factory=dict)
    guard_entries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # family -> YAML entries
    chances: dict[str, float] = field(default_factory=dict)  # task -> chance level of its accuracy
    agreeing_entries: dict[str, list[str]] = field(default_factory=dict)  # family -> metrics with an @agree twin
    noise_entries: dict[str, list[str]] = field(default_factory=dict)  # family -> shares of labels (noise_floor)

    @property
    def curve_keys(self) -> dict[str, str]:
        """task -> the key of its per-layer curve inside each logged response."""
        return {task: curve["key"] for task, curve in self.curves.items()}

    def probe_name(self, task: str) -> str:
        return self.probes.get(task, {}).get("name", task)

    def _metric(self, task: str, metric: str) -> Mapping[str, Any]:
        """The YAML entry of a metric: the task's own, else its family's (``calib_piqa`` -> ``calib``); a twin
        (:func:`twin`) has its metric's, its name marked :data:`AGREE_NAME`."""
        if (of := twin_of(metric)) is not None:
            entry = self._metric(task, of)
            return {**entry, "name": entry.get("name", of) + AGREE_NAME}
        return facts.entry(self.metrics, task, metric)

    def headlines(self, task: str) -> tuple[str, ...]:
        """The metrics the index may show for a probe, in the order tried: the task's ``headline`` (one name or
        a list), else its family's; () without one."""
        return facts.headline_names(self.probes, task)

    def headline(self, task: str, has: Collection[str] | None = None) -> str | None:
        """The metric the index shows for a probe: the first of :meth:`headlines` that ``has`` (a run's
        metrics) holds; without ``has``, the first declared. None without one, or when ``has`` holds none."""
        return next((m for m in self.headlines(task) if has is None or m in has), None)

    def about(self, task: str, metric: str) -> str:
        """What the metric's number means, in one phrase (its ``about``: the run report prints it after a
        headline's value); an error naming the task and metric where display.yaml has none."""
        return facts.about(self.metrics, task, metric)

    def guards(self, task: str) -> tuple[Guard, ...]:
        """The task's validity guards (its own entry, else its family's); () without any."""
        family = facts.family(task, list(self.guard_entries))
        return tuple(parse_guard(e, family) for e in self.guard_entries.get(family, [])) if family else ()

    def agreeing(self, task: str) -> tuple[str, ...]:
        """The metrics of the task (its own entry, else its family's) compared again over the documents whose
        label equals full precision's (``agreeing``); () without any."""
        family = facts.family(task, list(self.agreeing_entries))
        return tuple(self.agreeing_entries[family]) if family else ()

    def noise_floor(self, task: str) -> tuple[str, ...]:
        """The task's metrics that are shares of documents by label (``noise_floor``; its own entry, else its
        family's), and their twins: a difference within the config's noise rate is marked as such."""
        family = facts.family(task, list(self.noise_entries))
        listed = tuple(self.noise_entries[family]) if family else ()
        return listed + tuple(twin(m) for m in listed if m in self.agreeing(task))

    def chance(self, task: str) -> float | None:
        """The chance level of the task's accuracy: the task's own entry only (a variant's data has its own
        label set); None when not declared."""
        value = self.chances.get(task)
        return None if value is None else float(value)

    def relative(self, task: str, metric: str) -> bool:
        """Shown as the relative change to full precision (``relative: true``: a metric whose scale differs
        by orders of magnitude across models, like perplexity)."""
        return bool(self._metric(task, metric).get("relative"))

    def count(self, task: str, metric: str) -> bool:
        """A count aggregated by its sum (``count: true``: ``n_valid_flips``, ``insertions_n``): compared as the
        sums over the paired documents, as full precision's own row shows it, never as a per-document mean."""
        return bool(self._metric(task, metric).get("count"))

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
    data = facts.read(path)
    display = Display(probes=data.get("probes", {}), metrics=data.get("metrics", {}), curves=data.get("curves", {}),
                      guard_entries=data.get("guards", {}), chances=data.get("chance", {}),
                      agreeing_entries=data.get("agreeing") or {}, noise_entries=data.get("noise_floor") or {})
    for key, entries in (("agreeing", display.agreeing_entries), ("noise_floor", display.noise_entries)):
        _metric_lists(display, key, entries, path.name)
    for task in display.guard_entries:
        for guard in display.guards(task):  # a broken guard is an error when the file is read, not when met
            for metric in guard.affects:
                _declared(display, task, metric, f"metric in affects: of the guards of {task} in {path.name}")
    for probe, entry in display.probes.items():
        if "headline" in entry:
            _check_headline(display, probe, entry["headline"], path.name)
    for task, chance in display.chances.items():
        if isinstance(chance, bool) or not isinstance(chance, int | float) or not 0 <= chance < 1:
            raise QxError(f"{path.name}: chance of {task} must be a number in [0, 1), not {chance!r}")
    return display


def _check_headline(display: Display, probe: str, headline: object, file: str) -> None:
    """A probe's ``headline``: declared metrics (where the file lists any), each with a direction and an
    ``about`` (the run report prints both); else an error naming the probe and the metric."""
    names = facts.names(headline)
    if not names:
        raise QxError(f"{file}: the headline of {probe} must be a metric name or a non-empty list of "
                      f"them, not {headline!r}")
    for metric in names:
        _declared(display, probe, metric, f"headline metric of {probe} in {file}")
        if display.metrics and display.higher_is_better(probe, metric, None) is None:
            raise QxError(f"{file}: the headline {metric} of {probe} is informational: a headline "
                          "needs a direction (higher_is_better)")
        if display.metrics:
            display.about(probe, metric)


def _metric_lists(display: Display, key: str, entries: object, file: str) -> None:
    """``agreeing`` / ``noise_floor``: task family -> a list of its declared metrics; else an error naming it."""
    if not isinstance(entries, dict):
        raise QxError(f"{file}: {key} must map task families to lists of metrics, not {entries!r}")
    for family, metrics in entries.items():
        if not isinstance(metrics, list) or not all(isinstance(m, str) and m for m in metrics):
            raise QxError(f"{file}: {key} of {family} must be a list of metric names, not {metrics!r}")
        for metric in metrics:
            _declared(display, family, metric, f"metric in {key}: of {family} in {file}")


def _declared(display: Display, task: str, metric: str, what: str) -> None:
    """``metric`` is one of ``task``'s metrics in display.yaml (where it lists any); else an error naming them."""
    family = facts.family(task, list(display.metrics))
    if family and metric not in display.metrics[family]:
        raise unknown(what, metric, display.metrics[family])
