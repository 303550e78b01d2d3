"""LRE relation files (Hernandez et al. 2024, ``github.com/evandez/relations``, ``data/``).

One JSON file per relation: ``name``, ``prompt_templates`` (``{}`` = the subject),
``properties`` (``relation_type``, ``domain_name``, ``range_name``, ``symmetric``) and
``samples: [{subject, object}]``. A relation is named by its file stem (``country_capital_city``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qxbench.errors import QxError, unknown

__all__ = ["Relation", "decode_escapes", "parse_names", "relation_files", "read_json", "read_relations"]

_ESCAPES = re.compile(r"(?:\\u[0-9a-fA-F]{4})+")


def decode_escapes(text: str) -> str:
    r"""Literal ``\uXXXX`` sequences left in a string (``Bras\u00edlia`` stored as ``Bras\\u00edlia``)
    decoded; every other character, backslashes included, is kept. Surrogate pairs become one character."""
    if "\\u" not in text:
        return text
    return _ESCAPES.sub(lambda m: json.loads(f'"{m.group(0)}"'), text)


def parse_names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"a, b"`` or ``["a", "b"]`` -> ``("a", "b")``; ``None``, ``""`` or ``[]`` -> ``()`` (= every relation)."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    return tuple(dict.fromkeys(s.strip() for s in items if s.strip()))


def relation_files(path: str | Path, names: Iterable[str] = (), option: str = "lre_path") -> list[Path]:
    """One ``.json`` file, or every ``.json`` under a directory (recursively, sorted by relative path);
    ``names`` (file stems) keeps those relations only, in that order of the files."""
    root = Path(path)
    files = sorted(root.rglob("*.json"), key=lambda p: p.relative_to(root).as_posix()) if root.is_dir() else [root]
    files = [f for f in files if f.is_file()]
    if not files:
        raise QxError(f"{option} '{path}' is not a .json file or a directory of them")
    by_stem: dict[str, Path] = {}
    for file in files:
        if file.stem in by_stem:
            raise QxError(f"Two relation files named '{file.stem}' under {option} '{path}': "
                          f"{by_stem[file.stem]}, {file}")
        by_stem[file.stem] = file
    wanted = tuple(names)
    for name in wanted:
        if name not in by_stem:
            raise unknown("LRE relation", name, by_stem)
    return [f for f in files if not wanted or f.stem in wanted]


def read_json(file: Path) -> dict[str, Any]:
    from qxbench.data.datasource import read_text

    try:
        data = json.loads(read_text(file, "lre_path"))
    except json.JSONDecodeError as err:
        raise QxError(f"{file}: not valid JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(data, dict):
        raise QxError(f"{file}: an LRE relation is a JSON object, got {type(data).__name__}")
    return data


def _require(mapping: Any, fields: Iterable[str], source: str) -> None:
    for field in fields:
        if not isinstance(mapping, dict) or field not in mapping:
            raise QxError(f"{source}: missing required field '{field}'")


@dataclass(frozen=True)
class Relation:
    """One relation file, its strings decoded (:func:`decode_escapes`)."""

    name: str  # the file stem
    source: str
    templates: tuple[str, ...]
    relation_type: str
    domain_name: str
    range_name: str
    symmetric: bool
    samples: tuple[tuple[str, str], ...]  # (subject, object), in file order

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str) -> Relation:
        _require(data, ("samples", "prompt_templates"), source)
        templates = data["prompt_templates"]
        if not templates or not all(isinstance(t, str) and "{}" in t for t in templates):
            raise QxError(f"{source}: prompt_templates must be a non-empty list of '{{}}' strings, got {templates!r}")
        props = data.get("properties") or {}
        samples = []
        for sample in data["samples"]:
            _require(sample, ("subject", "object"), source)
            samples.append((decode_escapes(str(sample["subject"])), decode_escapes(str(sample["object"]))))
        return cls(name=Path(source).stem, source=source, templates=tuple(templates),
                   relation_type=str(props.get("relation_type", "")), domain_name=str(props.get("domain_name", "")),
                   range_name=str(props.get("range_name", "")), symmetric=bool(props.get("symmetric", False)),
                   samples=tuple(samples))


def read_relations(path: str | Path, names: Iterable[str] = (), option: str = "lre_path") -> list[Relation]:
    return [Relation.from_json(read_json(f), str(f)) for f in relation_files(path, names, option)]
