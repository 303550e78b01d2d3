"""What a finished ``qxbench eval`` / ``lm_eval --model qx`` run leaves behind, on one screen: where
its results, samples and log went, and each probe's headline metric with what it means.

    qxbench: results -> runs/first/qx-tiny/results_2026-12-01T21-10-00.123456.json
    qxbench: samples -> runs/first/qx-tiny/samples_*_2026-12-01T21-10-00.123456.jsonl (4 files)
    qxbench: log     -> runs/first/qxbench.log
      cf_flip   flip_rate    0.6200  (higher is better) share of documents whose self-made rewrite ...

A run without ``--output_path`` wrote nothing: one line says so and how to keep the results.
"""

from __future__ import annotations

import gzip
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from qxbench import distributed, logs, metric_facts, preflight
from qxbench.errors import QxError, first_line

# Headlines that say nothing of a full-precision run (its own labels agree with themselves): its report shows
# the next one instead. The leaderboard keeps them: there a quantized run's value is paired with this 1.
AT_FP_BY_CONSTRUCTION = {"agree_fp"}


def results_prefix(argv: Sequence[str]) -> str:
    """How the results file's name begins: ``results_`` in the folder ``--output_path`` names (under the model's
    subfolder), ``<stem>_`` beside a ``--output_path <stem>.json`` (lm-eval 0.4.13's EvaluationTracker
    ``save_results_aggregated``: ``path.with_name(f"{path.stem}_{date_id}.json")``)."""
    path = preflight.output_path(argv)
    return f"{path.stem}_" if path is not None and path.suffix == ".json" else "results_"


def newest_results(out: Path, since: float, prefix: str = "results_") -> Path | None:
    """The results file this run wrote under ``out`` (modified after ``since``), or None. ``prefix``:
    :func:`results_prefix`; a ``<stem>_`` file lies in ``out`` itself."""
    if not out.is_dir():
        return None
    found = out.rglob(f"{prefix}*.json") if prefix == "results_" else out.glob(f"{prefix}*.json")
    files = [p for p in found if p.stat().st_mtime >= since]
    return max(files, key=lambda p: p.stat().st_mtime) if files else None


def samples_file(results: Path, task: str) -> Path | None:
    """The samples file of ``task`` beside a results file (same stamp): ``.jsonl``, else ``.jsonl.gz`` (committed
    runs keep theirs gzipped); None where the run logged none."""
    file = results.with_name(f"samples_{task}_{results.stem.removeprefix('results_')}.jsonl")
    for found in (file, file.with_name(file.name + ".gz")):
        if found.is_file():
            return found
    return None


def samples_lines(results: Path, task: str) -> tuple[Path, list[str]] | None:
    """The lines of :func:`samples_file` (a ``.jsonl.gz`` read through gzip) with the file they came from; None
    where the run logged none. A file that does not read is one :class:`~qxbench.errors.QxError` naming it."""
    file = samples_file(results, task)
    if file is None:
        return None
    try:
        if file.suffix == ".gz":
            with gzip.open(file, "rt", encoding="utf-8") as f:
                return file, f.read().splitlines()
        return file, file.read_text(encoding="utf-8").splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as err:  # gzip.BadGzipFile is an OSError
        raise QxError(f"Cannot read samples file {file}: {first_line(err)}") from None


def headline_lines(results: dict) -> list[str]:
    """One line per task of a results JSON whose probe family has a headline the run reports: task, metric,
    value, direction and meaning, as leaderboard/display.yaml declares them
    (:func:`qxbench.metric_facts.headlines`: its ``headline`` list, the direction and ``about`` of each metric;
    the list the leaderboard's index shows). A family with several (cf_flip: agree_fp, flip_rate) shows the
    first its run reports: cf_flip 4.0's agree_fp needs a reference model (absent with reference=none), and
    3.x runs lack it; at full precision never one of :data:`AT_FP_BY_CONSTRUCTION`."""
    full_precision = ((results.get("config") or {}).get("qx") or {}).get("quant") == "none"
    lines = []
    for task, values in sorted((results.get("results") or {}).items()):
        if not isinstance(values, dict):
            continue
        found = [(h.metric, h.direction, h.about, values.get(f"{h.metric},none"))
                 for h in metric_facts.headlines(task)]
        found = [f for f in found if isinstance(f[3], (int, float)) and not isinstance(f[3], bool)
                 and not (full_precision and f[0] in AT_FP_BY_CONSTRUCTION)]
        if not found:
            continue
        metric, direction, meaning, value = found[0]
        shown = f"{value:.4f}" if math.isfinite(value) else str(value)
        lines.append(f"  {task:22s} {metric:12s} {shown:>8s}  ({direction}) {meaning}")
    return lines


def report(argv: Sequence[str], since: float) -> None:
    """Print where the run's outputs went and its headline metrics (stderr, rank 0 only)."""
    if not distributed.is_main():
        return
    out = preflight.output_dir(argv)
    if out is None:
        print("qxbench: no --output_path, so nothing was written; add --output_path runs/NAME --log_samples "
              "to keep the results and the per-document samples", file=sys.stderr)
        return
    prefix = results_prefix(argv)
    found = newest_results(out, since, prefix)
    if found is None:
        print(f"qxbench: no results file was written under {out}", file=sys.stderr)
        return
    stamp = found.stem.removeprefix(prefix)
    samples = sorted(found.parent.glob(f"samples_*_{stamp}.jsonl"))
    print(f"qxbench: results -> {found}", file=sys.stderr)
    if samples:
        many = "s" if len(samples) != 1 else ""
        print(f"qxbench: samples -> {found.parent}/samples_*_{stamp}.jsonl ({len(samples)} file{many})",
              file=sys.stderr)
    else:
        print("qxbench: no per-document samples (add --log_samples to keep them)", file=sys.stderr)
    log = logs.log_path(str(out))
    if log.exists() and not logs.verbose():
        print(f"qxbench: log     -> {log}", file=sys.stderr)
    try:
        results = json.loads(found.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    lines = headline_lines(results)  # outside the try: a broken display.yaml is an error, never silence
    if lines:
        print("headline metrics (each task README defines the rest; `qxbench sweep` and `qxbench gate` compare "
              "a quantized run with full precision):", file=sys.stderr)
        for line in lines:
            print(line, file=sys.stderr)
