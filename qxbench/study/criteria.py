"""The rating criteria (``criteria.yaml``): which criteria a task's items are rated on, and their wording."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qxbench.errors import QxError

CRITERIA_FILE = Path(__file__).with_name("criteria.yaml")
SCALE = (1, 5)  # Likert, inclusive


@dataclass(frozen=True)
class Criterion:
    name: str
    label: str
    question: str
    low: str
    high: str


@dataclass(frozen=True)
class Family:
    """The criteria of one kind of output (explanations, counterfactuals) and the tasks that produce it."""

    name: str
    title: str
    shows: str
    tasks: tuple[str, ...]
    criteria: tuple[Criterion, ...]

    def covers(self, task: str) -> bool:
        return any(task == t or task.startswith(f"{t}_") for t in self.tasks)


def load_families(path: Path = CRITERIA_FILE) -> tuple[Family, ...]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return tuple(
            Family(name=name, title=str(spec["title"]), shows=str(spec["shows"]),
                   tasks=tuple(str(t) for t in spec["tasks"]),
                   criteria=tuple(Criterion(name=c, label=str(v["label"]), question=str(v["question"]),
                                            low=str(v["low"]), high=str(v["high"]))
                                  for c, v in spec["criteria"].items()))
            for name, spec in data.items())
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as err:
        raise QxError(f"Bad criteria file {path}: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
                      ) from None


def family_for(task: str, families: tuple[Family, ...]) -> Family:
    for family in families:
        if family.covers(task):
            return family
    raise QxError(f"No rating criteria for task '{task}'. Rated tasks: "
                  f"{', '.join(t for f in families for t in f.tasks)} (and their variants)")
