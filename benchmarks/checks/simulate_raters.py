"""Simulated raters for a ``qxbench study make`` study: answer files as the rating page writes them,
marked ``"simulated": true`` (the leaderboard says so). For demos and tests of the pipeline only:
these are not human judgements.

Each simulated rater sees what a person sees (study.json, never the key) and scores every answer
from simple text features, plus its own noise:
  helpfulness / plausibility: share of the explanation's words found in the input, and naming the label;
  coherence / fluency: share of distinct words (repetition lowers it); empty -> 1;
  minimality: 1 - token edit distance / longer length (cf_flip's minimality);
  label flip: the rewrite differs from the input and names no word of the original label.

    python -m benchmarks.checks.simulate_raters STUDY_DIR -o ANSWERS_DIR [--raters 3 --noise 0.6 --seed 0 --partial 1]
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from nltk.metrics.distance import edit_distance

WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def feature(criterion: str, text: str, fields: dict[str, str]) -> float:
    """A score in [0, 1] for one answer (``fields``: what the page shows, by name)."""
    answer = fields.get("explanation", fields.get("rewrite", ""))
    said, given = _words(answer if answer != "(empty)" else ""), _words(text)
    if not said:
        return 0.0
    if criterion in ("coherence", "fluency"):
        return len(set(said)) / len(said)
    if criterion in ("helpfulness", "plausibility"):
        overlap = len(set(said) & set(given)) / len(set(said))
        names_label = fields.get("predicted label", "").lower() in said
        return 0.7 * overlap + 0.3 * names_label
    if criterion == "minimality":
        return 1 - edit_distance(given, said) / max(len(given), len(said))
    if criterion == "label_flip":
        original = fields.get("predicted label", "").lower()
        return float(said != given) * (0.5 + 0.5 * (original not in said))
    raise ValueError(f"no simulated feature for criterion {criterion!r}")


def simulate(study: dict, rater: str, rng: random.Random, noise: float, keep: float) -> dict:
    low, high = study["scale"]
    ratings: dict[str, dict[str, dict[str, int]]] = {}
    for item in study["items"]:
        if rng.random() > keep:
            continue  # a partial answer file: this item not rated yet
        criteria = study["families"][item["family"]]["criteria"]
        for out in item["outputs"]:
            fields = dict(out["fields"])
            for c in criteria:
                score = low + (high - low) * feature(c["name"], item["text"], fields) + rng.gauss(0, noise)
                ratings.setdefault(item["id"], {}).setdefault(out["slot"], {})[c["name"]] = \
                    int(min(high, max(low, round(score))))
    return {"schema": "qxbench-study-answers/1", "study_id": study["id"], "rater": rater, "ratings": ratings,
            "complete": keep >= 1, "simulated": True, "saved": "simulated"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("-o", "--out", type=Path, required=True)
    parser.add_argument("--raters", type=int, default=3)
    parser.add_argument("--noise", type=float, default=0.6, help="sd of each rating's noise, in scale points")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--partial", type=int, default=0, help="how many raters rate only about 70%% of the items")
    args = parser.parse_args()
    study = json.loads((args.study / "study.json").read_text(encoding="utf-8"))
    args.out.mkdir(parents=True, exist_ok=True)
    for i in range(1, args.raters + 1):
        rater = f"sim{i}"
        answers = simulate(study, rater, random.Random(f"{args.seed}:{rater}"), args.noise,
                           0.7 if i <= args.partial else 1.0)
        path = args.out / f"answers_{study['id']}_{rater}.json"
        path.write_text(json.dumps(answers, indent=1) + "\n", encoding="utf-8")
        print(path)


if __name__ == "__main__":
    main()
