"""Read a config's answers beside full precision's, document by document: what a cf_flip or nle_sim number
rests on (the brief's "read 20 samples"). For each document where the two differ (label, target, kind or
text), the input and gold label, then each config's label, target, answer kind, the answer as it came and,
for a valid rewrite, the label it got. No model runs.

    python -m benchmarks.studies.side_by_side benchmarks/results/runs/qwen2.5-coder-0.5b/explain-bfloat16 \\
        gptq-4b cf_flip_esnli [-n 20] [--all] [--baseline fp]

The folder holds one sub-folder per config (the sweep's layout); each config's newest run that logged
samples of the task is read, through the same readers as the leaderboard's (``.jsonl`` or ``.jsonl.gz``,
each logged answer typed by :func:`qxbench.probes.logged.read_result`). A document whose ``doc_hash``
differs between the two runs is shown with a note: it is not the same document.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import run
from qxbench.errors import QxError
from qxbench.probes.codec import Invalid
from qxbench.probes.logged import read_result
from qxbench.run_report import samples_lines


@dataclass(frozen=True)
class Answer:
    """One document's logged answer, as read: the record (a Counterfactual or Explanation) and its document."""

    doc: dict[str, Any]
    doc_hash: str | None
    record: Any


def newest(folder: Path, config: str, task: str) -> tuple[Path, list[str]]:
    """The samples lines of ``task`` in ``config``'s newest run that logged them; QxError naming what is there."""
    where = folder / config
    if not where.is_dir():
        there = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        raise QxError(f"No config '{config}' in {folder}; choices: {', '.join(there) or 'none (no such folder)'}")
    for results in sorted(where.glob("**/results_*.json"), key=lambda p: p.name, reverse=True):
        found = samples_lines(results, task)
        if found is not None:
            return found
    raise QxError(f"No samples of task '{task}' in {where} (a run with --log_samples writes them)")


def answers(folder: Path, config: str, task: str) -> dict[int, Answer]:
    """doc_id -> :class:`Answer` of ``config``'s newest run of ``task``; QxError naming the file and line."""
    file, lines = newest(folder, config, task)
    out: dict[int, Answer] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out[row["doc_id"]] = Answer(row["doc"], row.get("doc_hash"), read_result(row["filtered_resps"][0]))
        except (ValueError, KeyError, IndexError, TypeError, Invalid) as err:
            raise QxError(f"{file}:{number}: not a cf_flip or nle_sim answer: {err}") from None
    return out


def label(doc: dict[str, Any], index: int | None) -> str:
    return "-" if index is None else repr(doc["choices"][index])


def side(name: str, a: Answer) -> list[str]:
    """Two lines for one config's answer: label, target, kind; the answer (and a valid rewrite's label).
    Protocol 3's records (3.x runs) have no kind and log the cleaned rewrite, not the answer."""
    r, doc = a.record, a.doc
    head = f"  [{name}] label {label(doc, r.pred)}"
    kind = getattr(r, "kind", "no kind (3.x)")
    if hasattr(r, "target"):
        got = f", rewrite labelled {label(doc, r.rewrite_pred)}" if r.rewrite_pred is not None else ""
        text = getattr(r, "answer", r.rewrite)
        return [f"{head} -> target {label(doc, r.target)} · {kind}{got}", f"      {text!r}"]
    return [f"{head} · {kind}", f"      {r.explanation!r}"]


def differs(a: Answer, b: Answer) -> bool:
    x, y = a.record, b.record
    keys = ("pred", "target", "kind", "answer", "explanation")
    return any(getattr(x, k, None) != getattr(y, k, None) for k in keys)


def report(base: dict[int, Answer], cand: dict[int, Answer], names: tuple[str, str], n: int, every: bool) -> str:
    """The documents both runs answered where the answers differ (``every``: all), at most ``n``, by doc_id."""
    lines, shown = [], 0
    for d in sorted(base.keys() & cand.keys()):
        b, c = base[d], cand[d]
        if shown >= n or not (every or differs(b, c)):
            continue
        doc = b.doc
        same = "" if b.doc_hash == c.doc_hash else "  (doc_hash differs: not the same document)"
        lines.append(f"--- doc {d} · gold {label(doc, doc.get('label'))}{same}")
        lines.append(f"  {doc.get('input_name') or 'input'}: {doc['text']!r}")
        if doc.get("context"):
            lines.append(f"  {doc.get('context_name') or 'context'}: {doc['context']!r}")
        lines += side(names[0], b) + side(names[1], c)
        shown += 1
    total = len(base.keys() & cand.keys())
    lines.append(f"{shown} documents shown of {total} both answered")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the runs' folder, one sub-folder per config")
    parser.add_argument("config", help="the config's folder, e.g. gptq-4b")
    parser.add_argument("task", help="a cf_flip or nle_sim task, e.g. cf_flip_esnli")
    parser.add_argument("-n", type=int, default=20, help="at most this many documents (default 20)")
    parser.add_argument("--all", action="store_true", help="also the documents whose answers are the same")
    parser.add_argument("--baseline", default="fp", help="full precision's folder (default fp)")
    args = parser.parse_args()
    base = answers(args.folder, args.baseline, args.task)
    cand = answers(args.folder, args.config, args.task)
    print(report(base, cand, (args.baseline, args.config), args.n, args.all))


if __name__ == "__main__":
    run(main)
