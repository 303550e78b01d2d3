"""The rating page: one self-contained HTML file (inline CSS, script and study data; no network;
works from ``file://``). Answers are kept in the browser's localStorage under the study id and
rater, so a rater can close the page and resume, and are saved as a downloadable JSON file
(:data:`ANSWERS_SCHEMA`, checked by :mod:`qxbench.study.answers`)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

ANSWERS_SCHEMA = "qxbench-study-answers/1"
TEMPLATES = Path(__file__).with_name("templates")


def script_json(value: object) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``<`` (so no ``</script>``), no
    ``&``, and no line separators that older parsers choke on."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def rater_order(manifest: dict, rater: str | None) -> list[str]:
    """The item order of a rater's page: shuffled per rater (seeded by the study seed and the rater),
    so order effects average out over raters; the shared page keeps the study's order."""
    ids = [item["id"] for item in manifest["items"]]
    if rater:
        random.Random(f"{manifest['seed']}:{rater}").shuffle(ids)
    return ids


def render_page(manifest: dict, rater: str | None) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      keep_trailing_newline=True)
    data = {"study": {k: manifest[k] for k in ("id", "scale", "families", "items")},
            "order": rater_order(manifest, rater), "rater": rater or "", "schema": ANSWERS_SCHEMA}
    return env.get_template("rate.html").render(data=script_json(data), study_id=manifest["id"], rater=rater,
                                                 n_items=len(manifest["items"]))
