"""A candidate rule for answers that are not language, measured on the committed Qwen explanation runs.

The 0.5B's random-init floor writes token soup in many scripts ("hipster condemfinding-piece嚣ложения洗礼
Franz Ledger是不是 **"), and :func:`qxbench.probes.answers.read_rewrite` / ``read_explanation`` have no
kind for it: most of it is read ``valid``. Before such a kind enters protocol 4, this script measures
how a simple rule splits the answers that are committed, so that the rule is judged on real answers
first. The rule (:func:`soup`) flags an answer when

- more than ``SCRIPT_SHARE`` of its letters are outside the Latin script (the inputs are English), or
- it has at least ``MIN_WORDS`` words, fewer than ``STOP_SHARE`` of them are English function words
  (:data:`FUNCTION_WORDS`), and fewer than ``INPUT_SHARE`` of them occur in the document (every string
  field of the logged document: the input, its fixed part, the reference explanations), or
- at least ``CODE_SHARE`` of its whitespace-separated tokens look like code: a bracket, underscore,
  slash, semicolon, angle bracket, bar or equals sign, or a capital right after a small letter
  ("HashCodemaid )]", "_deck(())").

Each answer is the rewrite or explanation the run logged (4.x), with the kind its reader gave it. No
model runs; nothing here changes a score.

    python -m benchmarks.studies.soup_rule [--runs benchmarks/results/runs]
        [--out benchmarks/results/soup_rule.json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

from qxbench.probes.logged import plain, read_logged

SCRIPT_SHARE = 0.2
MIN_WORDS = 10
STOP_SHARE = 0.15
INPUT_SHARE = 0.5
CODE_SHARE = 0.5
FUNCTION_WORDS = frozenset(
    "a an the of and or but is are was were be been to in on at for with by from as that this it its not no he "
    "she they we you i his her their our my your do does did has have had can will would should could so than "
    "then there here what which who whom whose when where why how all any some more most very just also into "
    "over under about after before up down out off if because while".split())
_WORD = re.compile(r"[^\W\d_]+")
_CODE = re.compile(r"[()\[\]{};_<>/\\|=]|[a-z][A-Z]")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def non_latin_share(text: str) -> float:
    """The share of ``text``'s letters whose Unicode name is not LATIN (0.0 when it has no letter)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(not unicodedata.name(c, "").startswith("LATIN") for c in letters) / len(letters)


def code_share(text: str) -> float:
    """The share of ``text``'s whitespace-separated tokens that look like code (:data:`_CODE`)."""
    tokens = text.split()
    return sum(bool(_CODE.search(t)) for t in tokens) / len(tokens) if tokens else 0.0


def soup(answer: str, document_words: set[str]) -> bool:
    """True when ``answer`` reads as token soup by the rule in the module docstring; an answer with no
    word is not soup (the reader's ``empty`` covers it)."""
    found = words(answer)
    if not found:
        return False
    if non_latin_share(answer) > SCRIPT_SHARE or code_share(answer) >= CODE_SHARE:
        return True
    stop = sum(w in FUNCTION_WORDS for w in found) / len(found)
    shared = sum(w in document_words for w in found) / len(found)
    return len(found) >= MIN_WORDS and stop < STOP_SHARE and shared < INPUT_SHARE


def answer_of(row: dict, where: str) -> tuple[str, str]:
    """(the logged answer's text, the kind its reader gave it): a rewrite's extracted text, or the
    explanation."""
    result = plain(read_logged(row["resps"][0][0], where))
    if "explanation" in result:
        return result["explanation"], result["kind"]
    return result.get("rewrite") or result["answer"], result["kind"]


def count(runs: Path) -> dict[str, dict[str, dict[str, int]]]:
    """{"floor"|"models": {"<task family> <kind>": {"answers": n, "soup": n}}} over every 4.x samples file
    of the Qwen explanation runs under ``runs``."""
    table: dict[str, dict[str, Counter]] = {"floor": {}, "models": {}}
    for path in sorted(runs.glob("qwen*/explain-*/**/samples_*.jsonl.gz")):
        side = "floor" if path.relative_to(runs).parts[0].endswith("-random") else "models"
        family = "cf_flip" if "samples_cf_flip" in path.name else "nle_sim"
        with gzip.open(path, "rt") as f:
            for n, line in enumerate(f, 1):
                row = json.loads(line)
                text, kind = answer_of(row, f"{path}:{n}")
                doc_words = {w for v in row["doc"].values() if isinstance(v, str) for w in words(v)}
                cell = table[side].setdefault(f"{family} {kind}", Counter())
                cell["answers"] += 1
                cell["soup"] += soup(text, doc_words)
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
    rule = {"script_share": SCRIPT_SHARE, "min_words": MIN_WORDS, "stop_share": STOP_SHARE,
            "input_share": INPUT_SHARE, "code_share": CODE_SHARE}
    args.out.write_text(json.dumps({"command": "python -m benchmarks.studies.soup_rule", "rule": rule,
                                    "counts": counts}, indent=1) + "\n")
    for side, cells in counts.items():
        for key, cell in cells.items():
            print(f"{side:6} {key:22} {cell['soup']:5} of {cell['answers']:5} flagged")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
