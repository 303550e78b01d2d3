"""``study.json`` and ``key.json`` read back by ``qxbench study collect``: nothing in them is trusted until
it is checked. ``study.json`` is checked field by field (a wrong field is one line naming the file and the
field), then both files against the hashes ``study make`` recorded (:mod:`qxbench.study.make`): the key's
SHA-256 in ``study.json`` and ``study.json``'s SHA-256 in the key, so an edit to either file is refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from qxbench.errors import QxError, first_line
from qxbench.study.make import KEY_FILE, KEY_SCHEMA, SCHEMA, STUDY_FILE, dumps, sha256, study_sha256

STUDY_ID = re.compile(r"[0-9a-f]{12}")  # what study make writes; part of the ratings file's name
SHA256 = re.compile(r"[0-9a-f]{64}")
MISSING = object()
KEY_SCHEMAS = (KEY_SCHEMA, "qxbench-study-key/2")  # /2: made before the baseline was named: always "fp"
OLD_KEY = (" (a study made before the key covered study.json: make it again from the same runs with the same "
           "--items and --seed; its id, and so its answer files, stay the same)")


def read_json(path: Path, what: str) -> dict:
    """A JSON object, or one line naming the file."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise QxError(f"Cannot read the {what} {path}: {first_line(err)}") from None
    if not isinstance(value, dict):
        raise QxError(f"The {what} {path} is a JSON {type(value).__name__}, not an object")
    return value


def _show(value: Any) -> str:
    if value is MISSING:
        return "missing"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _field(doc: dict, name: str, kind: type, expected: str, path: Path, where: str = "") -> Any:
    """``doc[name]`` if it is a ``kind`` (a bool is no int); else one line naming the file and the field."""
    value = doc.get(name, MISSING)
    if value is MISSING or not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise QxError(f"{path}: {where}{name} is {_show(value)}, expected {expected}")
    return value


def _object(value: Any, path: Path, where: str) -> dict:
    if not isinstance(value, dict):
        raise QxError(f"{path}: {where} is {_show(value)}, expected an object")
    return value


def _check_scale(manifest: dict, path: Path) -> None:
    scale = _field(manifest, "scale", list, "[low, high], two whole numbers (e.g. [1, 5])", path)
    if len(scale) != 2 or any(isinstance(v, bool) or not isinstance(v, int) for v in scale) or scale[0] >= scale[1]:
        raise QxError(f"{path}: scale is {_show(scale)}, expected [low, high], two whole numbers, low < high "
                      "(e.g. [1, 5])")


def _check_families(manifest: dict, path: Path) -> dict:
    families = _field(manifest, "families", dict, "an object: family -> {title, shows, criteria}", path)
    for name, family in families.items():
        where = f"families.{name}"
        criteria = _field(_object(family, path, where), "criteria", list, "a list of criteria", path, f"{where}.")
        if not criteria:
            raise QxError(f"{path}: {where}.criteria is [], expected at least one criterion")
        for n, criterion in enumerate(criteria):
            at = f"{where}.criteria[{n}]"
            for text in ("name", "label"):
                _field(_object(criterion, path, at), text, str, "text", path, f"{at}.")
    return families


def _check_items(manifest: dict, families: dict, path: Path) -> None:
    items = _field(manifest, "items", list, "a list of items", path)
    if not items:
        raise QxError(f"{path}: items is [], expected at least one item")
    for n, item in enumerate(items):
        where = f"items[{n}]"
        for text in ("id", "task", "text"):
            _field(_object(item, path, where), text, str, "text", path, f"{where}.")
        if _field(item, "family", str, "text", path, f"{where}.") not in families:
            raise QxError(f"{path}: {where}.family is {_show(item['family'])}, expected one of the study's "
                          f"families: {', '.join(families)}")
        outputs = _field(item, "outputs", list, "a list of answers ({slot, fields})", path, f"{where}.")
        if not outputs:
            raise QxError(f"{path}: {where}.outputs is [], expected at least one answer")
        for k, output in enumerate(outputs):
            at = f"{where}.outputs[{k}]"
            _field(_object(output, path, at), "slot", str, "text", path, f"{at}.")
            _field(output, "fields", list, "a list of [name, text]", path, f"{at}.")


def check_manifest(manifest: dict, path: Path) -> None:
    """Every field ``collect`` reads, as ``study make`` writes it; else one line naming the file and the field."""
    if manifest.get("schema") != SCHEMA:
        raise QxError(f"{path}: schema {_show(manifest.get('schema', MISSING))}, expected {SCHEMA!r}")
    if not STUDY_ID.fullmatch(_field(manifest, "id", str, "12 hex digits", path)):
        raise QxError(f"{path}: id is {_show(manifest['id'])}, expected 12 hex digits (as study make writes it)")
    _check_scale(manifest, path)
    _check_items(manifest, _check_families(manifest, path), path)
    if not SHA256.fullmatch(_field(manifest, "key_sha256", str, "the key's SHA-256 (64 hex digits)", path)):
        raise QxError(f"{path}: key_sha256 is {_show(manifest['key_sha256'])}, expected the key's SHA-256 "
                      "(64 hex digits)")


def check_key(key: dict, manifest: dict, path: Path) -> None:
    """The key of this study, unchanged since it was made, with an entry for every item's every answer."""
    if key.get("schema") not in KEY_SCHEMAS:
        hint = OLD_KEY if key.get("schema") == "qxbench-study-key/1" else ""
        raise QxError(f"{path}: schema {_show(key.get('schema', MISSING))}, expected "
                      f"{' or '.join(map(repr, KEY_SCHEMAS))}{hint}")
    if key.get("study_id") != manifest["id"]:
        raise QxError(f"{path} is not the key of study {manifest['id']!r} (its study_id: {_show(key.get('study_id'))})")
    if sha256(dumps(key)) != manifest["key_sha256"]:
        raise QxError(f"{path} was changed after the study was made (its SHA-256 differs from "
                      f"{STUDY_FILE}'s key_sha256); restore the original key")
    if key.get("study_sha256") != study_sha256(manifest):
        raise QxError(f"{path.with_name(STUDY_FILE)} was changed after the study was made (its SHA-256 differs "
                      f"from {KEY_FILE}'s study_sha256); restore the original {STUDY_FILE}")
    entries = _field(key, "items", dict, "an object: item -> its configs", path)
    for item in manifest["items"]:
        entry = _object(entries.get(item["id"], MISSING), path, f"items.{item['id']}")
        for text in ("task", "model"):
            _field(entry, text, str, "text", path, f"items.{item['id']}.")
        slots = _field(entry, "slots", dict, "an object: slot -> config", path, f"items.{item['id']}.")
        if sorted(slots) != sorted(o["slot"] for o in item["outputs"]) or \
                not all(isinstance(c, str) for c in slots.values()):
            raise QxError(f"{path}: items.{item['id']}.slots is {_show(slots)}, expected a config for each of "
                          f"the item's answers {', '.join(o['slot'] for o in item['outputs'])}")
        if baseline(key, entry) not in slots.values():
            raise QxError(f"{path}: items.{item['id']}.baseline is {_show(entry.get('baseline', MISSING))}, "
                          f"expected one of its slots' configs {', '.join(sorted(slots.values()))}")


def baseline(key: dict, entry: dict) -> object:
    """The full-precision config an item's answers are compared with: its ``baseline`` (key /3), ``fp`` in a
    /2 key (made when only float32 runs were paired)."""
    return entry.get("baseline", MISSING) if key.get("schema") == KEY_SCHEMA else "fp"


def load_study(study_dir: Path) -> tuple[dict, dict]:
    """study.json and key.json, each checked (:func:`check_manifest`, :func:`check_key`)."""
    path = study_dir / STUDY_FILE
    manifest = read_json(path, "study file")
    check_manifest(manifest, path)
    key = read_json(study_dir / KEY_FILE, "study key")
    check_key(key, manifest, study_dir / KEY_FILE)
    return manifest, key
