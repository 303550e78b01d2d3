"""Write the paired-difference tables of benchmarks/studies/embedded_probes.py results into the task READMEs.

    python -m benchmarks.tables.readme_tables benchmarks/results/probes.json [more.json ...]

Each task README holds a block between ``<!-- numbers:begin ... -->`` and ``<!-- numbers:end -->``;
it is replaced by a table: the full-precision value and, per config, the mean paired difference
to full precision with its 95 % bootstrap CI, by the leaderboard's one number rule
(:func:`leaderboard.fmt.fmt`; perplexity as the relative change). **Bold**: marked, i.e. the
Benjamini–Hochberg q-value of its paired sign-flip p-value is at most 0.05 across the comparisons of
that table (every config x metric of the task). Rows need the p-values (``"p"``, written by
benchmarks/studies/embedded_probes.py); a results file without them is refused (rerun the benchmark).
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

from benchmarks.common import REPO
from leaderboard.compare.cell import Cell
from leaderboard.display import load_display
from leaderboard.fmt import TINY_NOTE, fmt, is_tiny
from leaderboard.render.text import cell_markdown
from qxbench.stats import bh_testable_or_none

TASKS = REPO / "lm_eval_tasks"
LABELS = {"random": "random init"}
NOTE = ("**Bold**: Benjamini–Hochberg q <= 0.05 across this table's comparisons (paired sign-flip "
        "permutation test over the same documents); [95 % paired-bootstrap CI].")


def cell(r: dict, baseline: float | None = None) -> str:
    """One config's difference, as the leaderboard's Markdown writes it (:func:`leaderboard.render.text.cell_markdown`);
    ``baseline`` given: a relative change (diff / |baseline|). A row with ``n`` = 0 is corpus-level."""
    corpus = r["n"] == 0
    baseline = baseline if isinstance(baseline, int | float) else None
    return cell_markdown(Cell("", "", "", "", r.get("value", math.nan), None, baseline=baseline, diff=r["diff"],
                              low=None if corpus else r["low"], high=None if corpus else r["high"], n=r["n"],
                              p=r.get("p"), q=r.get("q"), nonzero=r.get("nonzero"), relative=baseline is not None))


def with_q(rows: list[dict], configs: list[str], source: str) -> list[dict]:
    """The rows with each tested cell's BH q-value across the table (corpus-level cells: no test)."""
    tested = [(i, c) for i, r in enumerate(rows) for c in configs if c in r and r[c]["n"] > 0]
    missing = [f"{rows[i]['task']}/{rows[i]['metric']} {c}" for i, c in tested if "p" not in rows[i][c]]
    if missing:
        raise SystemExit(f"{source}: no p-values ({', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}): "
                         "rerun the benchmark that wrote it (benchmarks/studies/embedded_probes.py records them)")
    q = bh_testable_or_none([rows[i][c]["p"] for i, c in tested], [rows[i][c].get("nonzero") for i, c in tested])
    out = [dict(r) for r in rows]
    for (i, c), value in zip(tested, q, strict=True):
        out[i][c] = {**rows[i][c], "q": value}  # None: too few differ to test
    return out


def table(rows: list[dict], configs: list[str]) -> str:
    display = load_display()
    head = "| metric | FP value | " + " | ".join(f"{LABELS.get(c, c)} − FP" for c in configs) + " |\n"
    head += "|---|---:|" + "---:|" * len(configs) + "\n"
    body, tiny = "", False
    for r in rows:
        relative = display.relative(r["task"], r["metric"])
        cells = [cell(r[c], r["fp"] if relative else None) if c in r else "n/a" for c in configs]
        fp = fmt(r["fp"]) if isinstance(r["fp"], int | float) else str(r["fp"])
        tiny |= any(is_tiny(x) for x in [r["fp"], *(r[c]["diff"] for c in configs if c in r)]
                    if isinstance(x, int | float) and not math.isnan(x))
        body += f"| `{r['metric']}`{' (relative)' if relative else ''} | {fp} | " + " | ".join(cells) + " |\n"
    return head + body + "\n" + NOTE + (f" {TINY_NOTE}." if tiny else "") + "\n"


def main(files: list[str]) -> None:
    for file in files:
        data = json.loads(Path(file).read_text())
        configs = [c for c in data["configs"] if c != "fp"]
        by_task: dict[str, list[dict]] = {}
        for row in data["paired"]:
            by_task.setdefault(row["task"], []).append(row)
        for task, rows in by_task.items():
            readme = TASKS / task / "README.md"
            text = readme.read_text()
            block = (f"<!-- numbers:begin (written by benchmarks/tables/readme_tables.py from {Path(file).name}) -->\n"
                     + table(with_q(rows, configs, file), configs) + "<!-- numbers:end -->")
            new, count = re.subn(r"<!-- numbers:begin.*?-->\n.*?<!-- numbers:end -->", lambda _, b=block: b, text,
                                 flags=re.S)
            if count != 1:
                raise SystemExit(f"{readme}: no numbers block")
            readme.write_text(new)
            print(readme)


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="results JSON of benchmarks/studies/embedded_probes.py "
                                                 "(e.g. benchmarks/results/probes.json)")
    main(parser.parse_args(argv).files)


if __name__ == "__main__":
    cli()
