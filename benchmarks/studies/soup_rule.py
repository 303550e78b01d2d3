"""The rule for answers that are not language (:mod:`qxbench.probes.soup`), measured on the committed Qwen runs.

The 0.5B's random-init floor writes token soup in many scripts ("hipster condemfinding-piece嚣ложения洗礼
Franz Ledger是不是 **"), and before cf_flip 4.3 / nle_sim 4.2 :func:`qxbench.probes.answers.read_rewrite` and
``read_explanation`` had no kind for it: most of it was read ``valid``. This script measured how the rule
splits the committed answers before it became the readers' ``soup`` kind, and measures it again on every
run: for each kind the reader gave an answer (as logged), how many answers the rule flags. The rule itself
(:func:`qxbench.probes.soup.is_soup`, its module docstring) is the reader's, imported, not a copy; each answer
is the rewrite or explanation the run logged (4.x), read with the logged, normalised document. No model runs;
nothing here changes a score.

    python -m benchmarks.studies.soup_rule [--runs benchmarks/results/runs]
        [--out benchmarks/results/soup_rule.json]
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter
from pathlib import Path

from qxbench.probes import soup as rule
from qxbench.probes.logged import plain, read_logged


def answer_of(row: dict, where: str) -> tuple[str, str]:
    """(the logged answer's text, the kind its reader gave it): a rewrite's extracted text, or the
    explanation; a protocol 3 record (SmolLM2's committed runs) has no kind: ``3.x``, its rewrite as logged."""
    result = plain(read_logged(row["resps"][0][0], where))
    kind = result.get("kind", "3.x")
    if "explanation" in result:
        return result["explanation"], kind
    return result.get("rewrite") or result.get("answer") or "", kind


def count(runs: Path) -> dict[str, dict[str, dict[str, int]]]:
    """{"floor"|"models": {"<task family> <kind>": {"answers": n, "soup": n}}} over every samples file of the
    explanation runs under ``runs`` (4.x: the kind logged; 3.x: ``3.x``)."""
    table: dict[str, dict[str, Counter]] = {"floor": {}, "models": {}}
    for path in sorted(runs.glob("*/explain*/**/samples_*.jsonl.gz")):
        side = "floor" if path.relative_to(runs).parts[0].endswith("-random") else "models"
        family = "cf_flip" if "samples_cf_flip" in path.name else "nle_sim"
        with gzip.open(path, "rt") as f:
            for n, line in enumerate(f, 1):
                row = json.loads(line)
                text, kind = answer_of(row, f"{path}:{n}")
                cell = table[side].setdefault(f"{family} {kind}", Counter())
                cell["answers"] += 1
                cell["soup"] += rule.is_soup(text, row["doc"])
    return {side: {k: dict(v) for k, v in sorted(cells.items())} for side, cells in table.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, default=Path("benchmarks/results/runs"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/soup_rule.json"))
    args = parser.parse_args(argv)
    if not args.runs.is_dir():
        parser.exit(2, f"soup_rule: --runs {args.runs} is not a folder (the committed runs: "
                       "benchmarks/results/runs)\n")
    counts = count(args.runs)
    shares = {"script_share": rule.SCRIPT_SHARE, "min_words": rule.MIN_WORDS, "stop_share": rule.STOP_SHARE,
              "input_share": rule.INPUT_SHARE, "code_share": rule.CODE_SHARE}
    args.out.write_text(json.dumps({"command": "python -m benchmarks.studies.soup_rule", "rule": shares,
                                    "counts": counts}, indent=1) + "\n")
    for side, cells in counts.items():
        for key, cell in cells.items():
            print(f"{side:6} {key:22} {cell['soup']:5} of {cell['answers']:5} flagged")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
