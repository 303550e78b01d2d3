"""``qxbench study collect``: answers + key -> per task, model, criterion and config the mean rating,
the paired difference to full precision (bootstrap over items) and inter-rater agreement.

``study.json`` and the key are checked field by field and against the SHA-256 each recorded of the other
when the study was made (:mod:`qxbench.study.files`), so answers are never unblinded with a key that was
edited or belongs to another study, nor read against an edited ``study.json``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

from qxbench.errors import QxError
from qxbench.stats import paired_diff
from qxbench.study.agreement import ordinal_alpha
from qxbench.study.answers import Answers, read_all
from qxbench.study.files import baseline, load_study

RESULTS_SCHEMA = "qxbench-human-ratings/1"


@dataclass(frozen=True)
class ConfigRating:
    task: str
    model: str
    criterion: str
    config: str
    mean: float  # mean over items of the item's mean rating; NaN when no item was rated
    items: int  # items rated by at least one rater
    diff: float | None  # config - its full precision (fp, fp-bfloat16) over items rated in both (None for fp)
    low: float | None
    high: float | None
    pairs: int  # items in the difference


def item_means(answers: list[Answers], key: dict) -> dict[tuple[str, str, str, str], dict[str, float]]:
    """(task, model, criterion, config) -> item -> mean rating over the raters who rated it."""
    sums: dict[tuple[str, str, str, str], dict[str, list[int]]] = {}
    for a in answers:
        for r in a.ratings:
            entry = key["items"][r.item]
            group = (entry["task"], entry["model"], r.criterion, entry["slots"][r.slot])
            sums.setdefault(group, {}).setdefault(r.item, []).append(r.value)
    return {g: {item: sum(v) / len(v) for item, v in per.items()} for g, per in sums.items()}


def baselines(key: dict) -> dict[tuple[str, str, str], str]:
    """(task, model, config) -> the full-precision config it is compared with (``fp``, ``fp-bfloat16``: one per
    dtype, as :mod:`qxbench.study.make` grouped the items)."""
    return {(e["task"], e["model"], config): str(baseline(key, e))
            for e in key["items"].values() for config in e["slots"].values()}


def config_ratings(means: dict[tuple[str, str, str, str], dict[str, float]], base_of: dict[tuple[str, str, str], str],
                   *, iters: int = 2000, seed: int = 0) -> list[ConfigRating]:
    """Each config's mean rating and, for a quantized one, its paired difference to its baseline (``base_of``)."""
    def base_config(group: tuple[str, str, str, str]) -> str:
        task, model, _criterion, config = group
        return base_of.get((task, model, config), "fp")

    def order(group: tuple[str, str, str, str]) -> tuple:  # each baseline, then the configs compared with it
        return *group[:3], base_config(group), group[3] != base_config(group), group[3]

    out = []
    for (task, model, criterion, config), per in sorted(means.items(), key=lambda kv: order(kv[0])):
        mean = sum(per.values()) / len(per) if per else math.nan
        diff = low = high = None
        pairs = 0
        base_name = base_config((task, model, criterion, config))
        if config != base_name:
            base = means.get((task, model, criterion, base_name), {})
            items = sorted(set(base) | set(per))
            d = paired_diff([base.get(i, math.nan) for i in items], [per.get(i, math.nan) for i in items],
                            iters=iters, seed=seed)
            diff, low, high, pairs = d.mean, d.low, d.high, d.n
        out.append(ConfigRating(task, model, criterion, config, mean, len(per), diff, low, high, pairs))
    return out


def agreement(answers: list[Answers], manifest: dict, key: dict) -> dict[str, dict[str, float]]:
    """task -> criterion -> ordinal alpha over units (item, answer) rated on that criterion."""
    out: dict[str, dict[str, float]] = {}
    for item in manifest["items"]:
        for c in manifest["families"][item["family"]]["criteria"]:
            out.setdefault(item["task"], {}).setdefault(c["name"], math.nan)
    for task, criteria in out.items():
        units = [(it["id"], o["slot"]) for it in manifest["items"] if key["items"][it["id"]]["task"] == task
                 for o in it["outputs"]]
        for criterion in criteria:
            given = [{(r.item, r.slot): float(r.value) for r in a.ratings if r.criterion == criterion}
                     for a in answers]
            criteria[criterion] = ordinal_alpha([[g.get(u, math.nan) for u in units] for g in given])
    return out


def _json_safe(value: object) -> object:
    """NaN (undefined: no ratings, alpha undefined) as null, so the file is standard JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def collect(study_dir: Path, answer_files: list[Path], *, iters: int = 2000) -> dict:
    """The results document the leaderboard reads (:mod:`leaderboard.read.human`)."""
    manifest, key = load_study(study_dir)
    if not answer_files:
        raise QxError("qxbench study collect needs at least one answers file")
    answers = read_all(answer_files, manifest)
    criteria = {c["name"]: c["label"] for f in manifest["families"].values() for c in f["criteria"]}
    rows = config_ratings(item_means(answers, key), baselines(key), iters=iters)
    return _json_safe({  # type: ignore[return-value]
        "schema": RESULTS_SCHEMA, "study_id": manifest["id"], "items": len(manifest["items"]),
        "raters": [{"rater": a.rater, "ratings": len(a.ratings), "expected": a.expected, "simulated": a.simulated}
                   for a in sorted(answers, key=lambda a: a.rater)],
        "criteria": criteria, "scale": manifest["scale"],
        "alpha": agreement(answers, manifest, key), "rows": [asdict(r) for r in rows],
    })
