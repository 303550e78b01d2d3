"""Remake every table that reads the committed runs, and put the explanation tables into the README and
the docs.

    python -m benchmarks.tables.remake [--dry-run]

Run it after a committed run changes (a rescore, a merged part, a new config): each step recomputes its
JSON under benchmarks/results/ from the committed samples (no model is loaded; 76 s on this 2-core machine).
Each of ``BLOCKS`` (the README's real-model tables of SmolLM2 and Gemma, the model-size table, the
Qwen2.5-Coder-1.5B's and SmolLM2's explanation tables: a Markdown table kept in a results JSON) is written
between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` in each of its pages; a page without exactly one
pair of markers is refused before any step runs. The prose around the tables (readings, counts) is the
author's: read the new numbers and rewrite it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import REPO, RESULTS

# each step is `python -m MODULE ARGS...`; every one reads the committed runs, none another step's JSON
STEPS: tuple[tuple[str, ...], ...] = (
    ("benchmarks.studies.explain_real", "--limit", "50", "--report-only"),
    ("benchmarks.studies.explain_real", "--model", "qwen2.5-coder-0.5b", "--dtype", "bfloat16", "--report-only"),
    ("benchmarks.studies.explain_real", "--model", "qwen2.5-coder-1.5b", "--dtype", "bfloat16", "--report-only"),
    ("benchmarks.tables.readme_real_table",),
    ("benchmarks.tables.readme_real_table", "--runs", "benchmarks/results/runs/gemma3-270m/probes",
     "--configs", "bnb-int8-8b,bnb-nf4-4b,gptq-4b-g128,rtn-4b-g128",
     "--out", "benchmarks/results/readme_real_table_gemma3-270m.json"),
    ("benchmarks.studies.model_size",),
    ("benchmarks.studies.answer_kinds",),
    ("benchmarks.studies.soup_rule",),
    ("benchmarks.studies.claims",),
)


@dataclass(frozen=True)
class Block:
    """The table at ``key`` of the JSON ``source``, kept between block ``name``'s markers in each of ``pages``."""

    name: str
    source: Path
    pages: tuple[Path, ...]
    key: str = "markdown_readme"


README = REPO / "README.md"
BLOCKS = (
    Block("real_table_smollm2", RESULTS / "readme_real_table.json", (README,), "markdown"),
    Block("real_table_gemma", RESULTS / "readme_real_table_gemma3-270m.json", (README,), "markdown"),
    Block("model_size", RESULTS / "model_size.json", (README,), "markdown"),
    Block("explain_real_qwen15", RESULTS / "explain_real_qwen2.5-coder-1.5b-bfloat16.json",
          (README, REPO / "docs" / "qwen.md")),
    Block("explain_real", RESULTS / "explain_real.json", (README, REPO / "docs" / "explanations.md")),
)


def markers(name: str) -> tuple[str, str]:
    """The comment lines that open and close block ``name`` in a page."""
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def swapped(text: str, name: str, table: str, page: str = "page") -> str:
    """``text`` with what lies between block ``name``'s markers replaced by ``table`` (markers kept, a blank
    line either side of the table). Raises ValueError naming the page unless it holds one begin before one
    end."""
    begin, end = markers(name)
    counts = (text.count(begin), text.count(end))
    if counts != (1, 1) or text.index(begin) > text.index(end):
        raise ValueError(f"{page}: needs one {begin!r} before one {end!r} (found {counts[0]} and {counts[1]})")
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    return f"{head}{begin}\n\n{table.strip()}\n\n{end}{tail}"  # blank lines: the table is a block of its own


def table_of(block: Block) -> str:
    """The Markdown table ``block`` shows: its source JSON's ``block.key``."""
    return json.loads(block.source.read_text(encoding="utf-8"))[block.key]


def write_block(pages: tuple[Path, ...], name: str, table: str) -> list[Path]:
    """Put ``table`` into block ``name`` of every page; checks them all before writing any. Returns the
    pages whose text changed."""
    new = {page: swapped(page.read_text(encoding="utf-8"), name, table, str(page)) for page in pages}
    changed = [page for page, text in new.items() if text != page.read_text(encoding="utf-8")]
    for page in changed:
        page.write_text(new[page], encoding="utf-8")
    return changed


def run_steps(steps: tuple[tuple[str, ...], ...], dry_run: bool = False) -> None:
    """Run each step from the repository root; stop at the first that fails, naming it."""
    for step in steps:
        command = [sys.executable, "-m", *step]
        print(" ".join(command[2:]), flush=True)
        if dry_run:
            continue
        start = time.perf_counter()
        done = subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL, check=False)
        if done.returncode:
            raise SystemExit(f"remake: `python -m {' '.join(step)}` exited {done.returncode}; nothing after it ran")
        print(f"  {time.perf_counter() - start:.1f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print the steps and check the pages' markers")
    args = parser.parse_args(argv)
    for block in BLOCKS:  # before anything runs: a page without its markers would be found only at the end
        for page in block.pages:
            try:
                swapped(page.read_text(encoding="utf-8"), block.name, "", str(page))
            except ValueError as error:
                print(f"remake: {error}", file=sys.stderr)
                return 2
    run_steps(STEPS, args.dry_run)
    if args.dry_run:
        return 0
    for block in BLOCKS:
        changed = write_block(block.pages, block.name, table_of(block))
        print(f"{block.name}: " + (", ".join(str(p.relative_to(REPO)) for p in changed) or "no page changed"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
