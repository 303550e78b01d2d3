"""The evaluation split of the synthetic world, shipped as JSONL inside the package.

``qxbench world build`` writes these files from :func:`qxbench.world.generate.build_world`; the
lm-eval tasks read them through :func:`load_dataset` (``custom_dataset: !function ...``), so the
paths are relative to the package, never to the working directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qxbench.errors import QxError, unknown
from qxbench.world.generate import World

DATA_DIR = Path(__file__).parent / "data"
FILES = {"facts": "facts.jsonl", "twohop": "twohop.jsonl", "reviews": "reviews.jsonl"}


def eval_rows(world: World) -> dict[str, list[dict[str, Any]]]:
    """Rows of every shipped file. Facts are all trained (recall is memorization); two-hop rows
    carry their split (``eval`` = chains never stated in training); reviews are the held-out split."""
    facts = [
        {"relation": f.relation, "subject": f.subject, "object": f.object,
         "aliases": list(f.aliases), "prompt": f.prompt}
        for f in world.facts
    ]
    return {
        "facts": facts,
        "twohop": [t.row() for t in world.twohops],
        "reviews": [r.rows() for r in world.reviews if r.split == "eval"],
    }


def write_eval_files(world: World, out_dir: Path = DATA_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in eval_rows(world).items():
        path = out_dir / FILES[name]
        path.write_text("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows))
        written.append(path)
    return written


def read_rows(name: str, data_dir: Path = DATA_DIR) -> list[dict[str, Any]]:
    if name not in FILES:
        raise unknown("world file", name, FILES)
    path = data_dir / FILES[name]
    if not path.is_file():
        raise QxError(f"World data file {path} is missing; rebuild it with `qxbench world build`")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_dataset(name: str, split: str | None = None, **_metadata: Any):  # -> datasets.DatasetDict
    """A ``DatasetDict`` with one ``test`` split; ``split`` filters rows on their ``split`` field."""
    import datasets

    rows = read_rows(name)
    if split is not None:
        rows = [r for r in rows if r.get("split") == split]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})
