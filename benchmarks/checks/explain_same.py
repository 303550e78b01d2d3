"""Benchmark check: do two runs of ``benchmarks/studies/explain_real.py`` give the same outputs? A speed-up of
the explainability probes promises identical outputs; this reads the committed runs at a git revision
(default HEAD) and the runs in the working tree, pairs each config's and task's documents by
``doc_id`` and ``doc_hash``, and counts the documents whose answer differs (any field of the logged
``Counterfactual`` / ``Explanation`` other than a float: rewrites, labels, explanations, insertions),
the largest difference of a float field (perplexities) relative to its size, and of a per-document
metric.

    python -m benchmarks.checks.explain_same [--rev HEAD] [--out benchmarks/results/explain_same.json]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import math
import subprocess
import tarfile
from pathlib import Path

from benchmarks.common import REPO, number, run

FOLDERS = ("benchmarks/results/runs/smollm2-135m/explain", "benchmarks/results/runs/smollm2-135m-random/explain")


def _samples(files: dict[str, bytes]) -> dict[tuple[str, str], dict[int, dict]]:
    """(config folder, task) -> doc_id -> sample, from ``samples_<task>_<time>.jsonl[.gz]`` files (the newest
    per task)."""
    newest: dict[tuple[str, str], str] = {}
    for name in sorted(files):
        parts = Path(name).parts
        if not parts[-1].startswith("samples_") or not name.endswith((".jsonl.gz", ".jsonl")):
            continue
        task = parts[-1][len("samples_"):].rsplit("_", 1)[0]
        config = "/".join(parts[5:-2]) or "random-init"
        newest[(config, task)] = name
    out = {}
    for key, name in newest.items():
        data = files[name]
        lines = (gzip.decompress(data) if name.endswith(".gz") else data).decode().splitlines()
        out[key] = {int(s["doc_id"]): s for s in map(json.loads, lines)}
    return out


def at_revision(rev: str) -> dict[str, bytes]:
    tar = subprocess.run(["git", "archive", rev, *FOLDERS], cwd=REPO, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}


def in_tree() -> dict[str, bytes]:
    return {str(p.relative_to(REPO)): p.read_bytes() for folder in FOLDERS for p in (REPO / folder).rglob("*")
            if p.is_file()}


def _leaves(value, path=""):
    """(path, value) for every scalar of a parsed response (insertions are tuples inside it)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, value


def compare(then: dict[int, dict], now: dict[int, dict]) -> dict:
    from qxbench.probes.logged import plain, read_logged

    differing, worst_float, worst_metric, shared = [], 0.0, 0.0, 0
    for doc, sample in now.items():
        old = then.get(doc)
        if old is None or old["doc_hash"] != sample["doc_hash"]:
            continue
        shared += 1
        a = dict(_leaves(plain(read_logged(str(old["resps"][0][0]), f"doc {doc} (then)"))))
        b = dict(_leaves(plain(read_logged(str(sample["resps"][0][0]), f"doc {doc} (now)"))))
        same = a.keys() == b.keys()
        for k in a.keys() & b.keys():
            x, y = a[k], b[k]
            if isinstance(x, float) and isinstance(y, float):
                if math.isfinite(x) and math.isfinite(y):
                    worst_float = max(worst_float, abs(x - y) / max(1e-12, abs(x)))
                else:
                    same &= (x == y) or (math.isnan(x) and math.isnan(y))
            else:
                same &= x == y
        if not same:
            differing.append(doc)
        for k in sample["metrics"]:
            x, y = number(old.get(k)), number(sample.get(k))
            if isinstance(x, float) and isinstance(y, float) and x == x and y == y:
                worst_metric = max(worst_metric, abs(x - y))
    return {"documents": shared, "differing_answers": len(differing), "differing_doc_ids": differing,
            "max_float_rel_difference": worst_float, "max_metric_difference": worst_metric}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/explain_same.json"))
    args = parser.parse_args()
    then, now = _samples(at_revision(args.rev)), _samples(in_tree())
    rows = {f"{config} {task}": compare(then[(config, task)], runs) for (config, task), runs in sorted(now.items())
            if (config, task) in then}
    for key, row in rows.items():
        print(f"{key}: {row['documents']} documents, {row['differing_answers']} differing answers, "
              f"floats {row['max_float_rel_difference']:.1e} rel., metrics {row['max_metric_difference']:.1e}")
    rev = subprocess.run(["git", "rev-parse", "--short", args.rev], cwd=REPO, check=True, capture_output=True,
                         text=True).stdout.strip()
    (REPO / args.out).write_text(json.dumps({"against": rev, "runs": rows}, indent=1) + "\n")


if __name__ == "__main__":
    run(main)
