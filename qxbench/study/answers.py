"""Raters' answer files (written by the rating page): checked field by field; anything wrong is one
:class:`~qxbench.errors.QxError` line naming the file, the value and what was expected."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from qxbench.errors import QxError, first_line
from qxbench.study.page import ANSWERS_SCHEMA


@dataclass(frozen=True)
class Rating:
    item: str
    slot: str
    criterion: str
    value: int


@dataclass(frozen=True)
class Answers:
    path: Path
    rater: str
    ratings: tuple[Rating, ...]
    expected: int  # ratings a complete file holds
    simulated: bool  # written by a simulation (benchmarks/checks/simulate_raters.py), not a person

    @property
    def complete(self) -> bool:
        return len(self.ratings) == self.expected


def _object(value: object, what: str, where: str) -> dict:
    if not isinstance(value, dict):
        raise QxError(f"{where}: {what} is a JSON {type(value).__name__}, not an object")
    return value


def expected_ratings(manifest: dict) -> int:
    return sum(len(it["outputs"]) * len(manifest["families"][it["family"]]["criteria"]) for it in manifest["items"])


def read_answers(path: Path, manifest: dict) -> Answers:
    where = f"answers file {path}"
    try:
        data = _object(json.loads(path.read_text(encoding="utf-8")), "the file", where)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise QxError(f"Cannot read {where}: {first_line(err)}") from None
    if data.get("schema") != ANSWERS_SCHEMA:
        raise QxError(f"{where}: schema {data.get('schema')!r}, expected {ANSWERS_SCHEMA!r} (a rating page's download)")
    if data.get("study_id") != manifest["id"]:
        raise QxError(f"{where} is for study {data.get('study_id')!r}, not this study {manifest['id']!r}")
    rater = data.get("rater")
    if not isinstance(rater, str) or not rater.strip():
        raise QxError(f"{where}: rater {rater!r} is not a name")
    low, high = manifest["scale"]
    items = {it["id"]: it for it in manifest["items"]}
    ratings = []
    for item, slots in _object(data.get("ratings"), "ratings", where).items():
        if item not in items:
            raise QxError(f"{where}: unknown item {item!r}; this study has {', '.join(sorted(items)[:3])} ... "
                          f"({len(items)} items)")
        known_slots = [o["slot"] for o in items[item]["outputs"]]
        criteria = [c["name"] for c in manifest["families"][items[item]["family"]]["criteria"]]
        for slot, values in _object(slots, f"ratings[{item!r}]", where).items():
            if slot not in known_slots:
                raise QxError(f"{where}: item {item} has no answer {slot!r}; answers: {', '.join(known_slots)}")
            for criterion, value in _object(values, f"ratings[{item!r}][{slot!r}]", where).items():
                if criterion not in criteria:
                    raise QxError(f"{where}: item {item} {slot}: unknown criterion {criterion!r}; "
                                  f"criteria: {', '.join(criteria)}")
                if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                    raise QxError(f"{where}: item {item} {slot} {criterion} = {json.dumps(value)}: ratings are "
                                  f"whole numbers {low}-{high}")
                ratings.append(Rating(item, slot, criterion, value))
    if not ratings:  # saved before anything was rated: it would count as a rater who rated nothing
        raise QxError(f"{where} holds no ratings (0 of {expected_ratings(manifest)}): nothing to collect; "
                      "leave it out until the rater has rated something")
    return Answers(path, rater.strip(), tuple(ratings), expected_ratings(manifest), data.get("simulated") is True)


def read_all(paths: list[Path], manifest: dict) -> list[Answers]:
    """Every file checked; two files of one rater are refused (which one counts would be a guess)."""
    answers = [read_answers(p, manifest) for p in paths]
    seen: dict[str, Path] = {}
    for a in answers:
        if a.rater in seen:
            raise QxError(f"rater {a.rater!r} has two answer files: {seen[a.rater]} and {a.path}; pass one")
        seen[a.rater] = a.path
    return answers
