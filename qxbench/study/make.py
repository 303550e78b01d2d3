"""``qxbench study make``: runs -> a blinded rating study.

Items pair the same document across full precision and every quantized config of one model and dtype
(same ``doc_id`` and ``doc_hash`` in every config's samples; ``fp-bfloat16`` is the baseline of bfloat16 configs,
as on the leaderboard, and the key names each item's ``baseline``). N items per task are drawn with a
seeded RNG; each item shows its outputs as slots A, B, C... in an order that is random and
balanced (every config takes every slot equally often when N is a multiple of the configs).
Which config sits in which slot is written only to ``key.json``. Each file records the other's SHA-256:
``study.json``'s ``key_sha256`` covers all of ``key.json``, and ``key.json``'s ``study_sha256`` covers all of
``study.json`` but that one field (:func:`study_sha256`), so an edit to either is refused at collect time.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
from dataclasses import asdict, dataclass
from pathlib import Path

from qxbench.errors import QxError
from qxbench.study.criteria import SCALE, Family, family_for, load_families
from qxbench.study.samples import Output, read_outputs

SCHEMA = "qxbench-study/1"
KEY_SCHEMA = "qxbench-study-key/3"  # /2: study_sha256 (all of study.json); /3: each item's baseline config
STUDY_FILE, KEY_FILE = "study.json", "key.json"


@dataclass(frozen=True)
class Candidate:
    """One document of one task and model, answered by full precision and ``len(configs) - 1`` quantized configs."""

    task: str
    model: str
    doc_id: int
    outputs: tuple[tuple[str, Output], ...]  # (config, output), full precision of the configs' dtype first


@dataclass(frozen=True)
class Study:
    manifest: dict  # study.json: what raters' pages show (no config names)
    key: dict  # key.json: item -> model, task, doc_id, slot -> config
    notes: tuple[str, ...]


def candidates(runs_dir: Path, families: tuple[Family, ...]) -> tuple[list[Candidate], list[str]]:
    """Every (task, model, document) that full precision and at least one quantized config answered, with
    the configs that answered it; tasks without rating criteria are skipped."""
    from leaderboard.read.runs import read_runs

    runs, _ = read_runs(runs_dir)
    notes: list[str] = []
    found: list[Candidate] = []
    tasks = sorted({t for r in runs for t in r.tasks if any(f.covers(t) for f in families)})
    if not tasks:
        raise QxError(f"No rated task under {runs_dir}: need --log_samples runs of "
                      f"{', '.join(t for f in families for t in f.tasks)}")
    for task in tasks:
        kind = family_for(task, families).name
        for model, dtype in sorted({(r.model, r.dtype) for r in runs}):
            group = [r for r in runs if (r.model, r.dtype) == (model, dtype) and task in r.tasks]
            answers = {r.config: read_outputs(r.path, task, kind) for r in group}
            where = model if dtype == "float32" else f"{model} in {dtype}"
            empty = sorted(c for c, o in answers.items() if not o)
            if empty:
                notes.append(f"{where} {task}: no logged samples (--log_samples) for {', '.join(empty)}: left out")
            answers = {c: o for c, o in answers.items() if o}
            fp = next((r.config for r in group if r.is_fp and r.config in answers), None)
            if fp is None or len(answers) < 2:
                notes.append(f"{where} {task}: needs full precision and a quantized config of the same dtype with "
                             "samples: left out")
                continue
            configs = [fp, *sorted(c for c in answers if c != fp)]
            for doc_id in sorted(set.intersection(*(set(o) for o in answers.values()))):
                hashes = {answers[c][doc_id].doc_hash for c in configs}
                if len(hashes) > 1:
                    notes.append(f"{where} {task} doc {doc_id}: the configs saw different documents: left out")
                    continue
                found.append(Candidate(task, model, doc_id, tuple((c, answers[c][doc_id]) for c in configs)))
    return found, notes


def slot_orders(n_items: int, n_configs: int, rng: random.Random) -> list[list[int]]:
    """Per item, the config index shown in each slot: one random base order, rotated by a shift drawn
    from a shuffled, evenly filled list, so every config takes every slot equally often (up to one)."""
    base = list(range(n_configs))
    rng.shuffle(base)
    shifts = [i % n_configs for i in range(n_items)]
    rng.shuffle(shifts)
    return [base[s:] + base[:s] for s in shifts]


def _slots(n: int) -> list[str]:
    if n > len(string.ascii_uppercase):
        raise QxError(f"{n} configs per item: at most {len(string.ascii_uppercase)} can be rated side by side")
    return list(string.ascii_uppercase[:n])


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dumps(value: object) -> str:
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def study_sha256(manifest: dict) -> str:
    """The SHA-256 ``key.json`` records of ``study.json``: every field but ``key_sha256`` (which is checked
    against the key itself), in the form ``study make`` writes it."""
    return sha256(dumps({k: v for k, v in manifest.items() if k != "key_sha256"}))


def make_study(runs_dir: Path, *, items: int, seed: int, raters: int,
               families: tuple[Family, ...] | None = None) -> Study:
    """``items`` per task (all there are, with a note, when fewer), seeded by ``seed``."""
    if items < 1:
        raise QxError(f"--items {items}: need at least 1 item per task")
    if raters < 0:
        raise QxError(f"--raters {raters}: a number of rater pages, 0 for one shared page")
    families = families or load_families()
    pool, notes = candidates(runs_dir, families)
    if not pool:
        raise QxError(f"No document under {runs_dir} is answered by full precision and a quantized config "
                      f"of the same model ({'; '.join(notes) or 'no samples'})")
    rng = random.Random(seed)
    chosen: list[Candidate] = []
    for task in sorted({c.task for c in pool}):
        mine = [c for c in pool if c.task == task]
        if len(mine) < items:
            notes.append(f"{task}: {len(mine)} documents answered by every config, fewer than --items {items}: "
                         "all are used")
        chosen += rng.sample(mine, min(items, len(mine)))
    public, key = [], {}
    by_width: dict[int, list[Candidate]] = {}
    for c in chosen:
        by_width.setdefault(len(c.outputs), []).append(c)
    orders = {id(c): order for width, group in by_width.items()
              for c, order in zip(group, slot_orders(len(group), width, rng), strict=True)}
    for number, c in enumerate(chosen, 1):
        item = f"i{number:03d}"
        slots = _slots(len(c.outputs))
        shown = [c.outputs[i] for i in orders[id(c)]]
        family = family_for(c.task, families)
        public.append({"id": item, "task": c.task, "family": family.name, "text": shown[0][1].text,
                       "outputs": [{"slot": s, "fields": [list(f) for f in o.fields]}
                                   for s, (_, o) in zip(slots, shown, strict=True)]})
        key[item] = {"task": c.task, "model": c.model, "doc_id": c.doc_id, "baseline": c.outputs[0][0],
                     "slots": {s: config for s, (config, _) in zip(slots, shown, strict=True)}}
    used = {family_for(c.task, families).name for c in chosen}
    study_id = sha256(dumps({"items": public, "seed": seed}))[:12]
    manifest = {
        "schema": SCHEMA, "id": study_id, "seed": seed, "scale": list(SCALE), "items": public,
        "families": {f.name: {"title": f.title, "shows": f.shows, "criteria": [asdict(k) for k in f.criteria]}
                     for f in families if f.name in used},
        "raters": [f"r{i}" for i in range(1, raters + 1)], "runs": str(runs_dir.resolve()),
    }
    key_doc = {"schema": KEY_SCHEMA, "study_id": study_id, "items": key, "study_sha256": study_sha256(manifest)}
    manifest["key_sha256"] = sha256(dumps(key_doc))
    return Study(manifest, key_doc, tuple(notes))


def write_study(study: Study, out: Path) -> list[Path]:
    """study.json, key.json and the rating pages (rate.html shared; rate_<rater>.html per named rater)."""
    from qxbench.study.page import render_page

    if (out / STUDY_FILE).exists():
        raise QxError(f"-o {out} already holds a study ({STUDY_FILE}); choose a new directory "
                      "(answers are tied to the study they were given for)")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, value in ((STUDY_FILE, study.manifest), (KEY_FILE, study.key)):
        (out / name).write_text(dumps(value), encoding="utf-8")
        written.append(out / name)
    for rater in [None, *study.manifest["raters"]]:
        path = out / (f"rate_{rater}.html" if rater else "rate.html")
        path.write_text(render_page(study.manifest, rater), encoding="utf-8")
        written.append(path)
    return written
