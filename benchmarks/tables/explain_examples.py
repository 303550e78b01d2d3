"""The task READMEs' "Real examples" tables: the first three documents of each real-data variant from
the full-precision run that ``benchmarks/studies/explain_real.py`` committed (its ``examples`` in
``benchmarks/results/explain_real.json``), as Markdown, one table per probe.

    python -m benchmarks.tables.explain_examples [--results benchmarks/results/explain_real.json] [--probe cf_flip]

Runs of either protocol: cf_flip and nle_sim 3.x (the committed runs: ``label_leak_rate``,
``unchanged_rate``) and 4.0 (each answer's kind from its logged result, ``kind valid``, and
``ppl_ratio``; 4.0's per-kind rates are that kind, one-hot, so they are not listed again).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.common import run
from qxbench.probes.logged import plain, read_logged

# the metrics shown where a document has them: label_leak_rate and unchanged_rate are 3.x's, ppl_ratio 4.0's
SHOWN = {"cf_flip": ("acc", "flip_rate", "label_leak_rate", "minimality", "cosine", "unchanged_rate", "ppl",
                     "ppl_ratio"),
         "nle_sim": ("acc", "cosine", "bertscore_minilm_f1", "rougeL", "insert_flipped_n", "unfaithful")}


def _cell(text: str, width: int = 160) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= width else text[:width - 1] + "…"


def _number(value: object) -> str:
    from leaderboard.fmt import fmt

    return fmt(value) if isinstance(value, (int, float)) else str(value)


def _name(labels: list[str], index: object) -> str:
    return labels[index] if isinstance(index, int) and 0 <= index < len(labels) else str(index)


def rows(probe: str, examples: dict[str, list[dict]]) -> list[str]:
    head = ("| variant | input | gold → predicted | " + ("rewrite (target)" if probe == "cf_flip" else "explanation")
            + " | metrics |")
    out = [head, "|---|---|---|---|---|"]
    for task, docs in examples.items():
        if not task.startswith(probe):
            continue
        for d in docs:
            r = plain(read_logged(d["response"], f"{task} doc {d.get('doc_id')}"))
            labels = d["choices"]  # per document (ECQA's options differ)
            given = d["text"] + (f" ({d['context_name']}: {d['context']})" if d["context"] else "")
            answer = (f"{r.get('rewrite', '')} ({_name(labels, r.get('target'))})" if probe == "cf_flip"
                      else r.get("explanation", ""))
            kind = [f"kind {r['kind']}"] if "kind" in r else []  # 4.0: what the answer is (3.x logged none)
            metrics = ", ".join(kind + [f"{k} {_number(d['metrics'][k])}" for k in SHOWN[probe] if k in d["metrics"]])
            predicted = _name(labels, r.get("pred"))
            out.append(f"| `{task}` | {_cell(given)} | {d['gold']} → {predicted} | {_cell(answer)} | {metrics} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results/explain_real.json"))
    parser.add_argument("--probe", choices=sorted(SHOWN), action="append")
    args = parser.parse_args()
    if not args.results.is_file():
        sys.exit(f"{args.results} is absent: run benchmarks/studies/explain_real.py first")
    data = json.loads(args.results.read_text())
    examples = data.get("examples") or {}
    for probe in args.probe or sorted(SHOWN):
        print("\n".join(rows(probe, examples)) + "\n")


if __name__ == "__main__":
    run(main)
