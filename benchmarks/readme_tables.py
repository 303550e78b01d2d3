"""Write the paired-difference tables of benchmarks/probes.py results into the task READMEs.

    python benchmarks/readme_tables.py benchmarks/results/probes.json [more.json ...]

Each task README holds a block between ``<!-- numbers:begin ... -->`` and ``<!-- numbers:end -->``;
it is replaced by a table: the full-precision value and, per config, the mean paired difference
to full precision with its 95 % bootstrap CI (bold when the CI excludes 0).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

TASKS = Path(__file__).resolve().parents[1] / "lm_eval_tasks"
LABELS = {"random": "random init"}


def cell(r: dict) -> str:
    if r["n"] == 0:
        return f"{r['diff']:+.3g} (corpus-level, no CI)"
    mark = "**" if r["excludes_zero"] else ""
    return f"{mark}{r['diff']:+.3g}{mark} [{r['low']:+.3g}, {r['high']:+.3g}]"


def table(rows: list[dict], configs: list[str]) -> str:
    head = "| metric | FP value | " + " | ".join(f"{LABELS.get(c, c)} − FP" for c in configs) + " |\n"
    head += "|---|---:|" + "---:|" * len(configs) + "\n"
    return head + "".join(f"| `{r['metric']}` | {r['fp']:.4g} | " + " | ".join(cell(r[c]) for c in configs) + " |\n"
                          for r in rows)


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
            block = (f"<!-- numbers:begin (written by benchmarks/readme_tables.py from {Path(file).name}) -->\n"
                     + table(rows, configs) + "<!-- numbers:end -->")
            new, count = re.subn(r"<!-- numbers:begin.*?-->\n.*?<!-- numbers:end -->", lambda _, b=block: b, text,
                                 flags=re.S)
            if count != 1:
                raise SystemExit(f"{readme}: no numbers block")
            readme.write_text(new)
            print(readme)


if __name__ == "__main__":
    main(sys.argv[1:])
