"""What a finished ``qxbench eval`` / ``lm_eval --model qx`` run leaves behind, on one screen: where
its results, samples and log went, and each probe's headline metric with what it means.

    qxbench: results -> runs/first/qx-tiny/results_2026-12-01T21-10-00.123456.json
    qxbench: samples -> runs/first/qx-tiny/samples_*_2026-12-01T21-10-00.123456.jsonl (4 files)
    qxbench: log     -> runs/first/qxbench.log
      cf_flip   flip_rate    0.6200  (higher is better) share of documents whose self-made rewrite ...

A run without ``--output_path`` wrote nothing: one line says so and how to keep the results.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from qxbench import distributed, logs, preflight

# Each probe family's headline metric, and what its number means, for a reader who has not read the task
# READMEs yet. A family with fallbacks (FALLBACKS) shows the first of them its run reports: cf_flip 4.0's
# agree_fp needs a reference model (absent with reference=none), and 3.x runs lack it. The same order and
# directions as the leaderboard's `headline` lists in leaderboard/display.yaml (tests/test_run_report.py
# pins them together); read here, not imported: qxbench's library never imports the leaderboard.
HEADLINES = {
    "cf_flip": ("agree_fp", "higher is better", "share of documents whose label equals the full-precision "
                "model's"),
    "nle_sim": ("cosine", "higher is better", "embedding cosine of the model's explanation with the reference "
                "explanation"),
    "memorize": ("recall", "higher is better", "share of facts whose greedy answer starts with an alias of "
                 "the gold object"),
    "multihop": ("entrec_max", "higher is better", "log-prob of the bridge entity read from a layer's residual "
                 "(logit lens), at its best layer"),
    "calib": ("ace", "lower is better", "adaptive calibration error of one-token answers' confidence"),
    "neurons": ("salient_union", "lower is better", "count of MLP neurons salient (integrated gradients) for "
                "some document, summed over layers; grows with the documents"),
    "world": ("acc", "higher is better", "accuracy on the synthetic world's questions"),
}


# Headlines that say nothing of a full-precision run (its own labels agree with themselves): its report shows
# the next one instead. The leaderboard keeps them: there a quantized run's value is paired with this 1.
AT_FP_BY_CONSTRUCTION = {"agree_fp"}
FALLBACKS = {
    "cf_flip": (("flip_rate", "higher is better", "share of documents whose self-made minimal rewrite flips "
                 "the model's own label"),),
}


def _family(task: str) -> str | None:
    found = [f for f in HEADLINES if task == f or task.startswith(f"{f}_")]
    return max(found, key=len) if found else None


def newest_results(out: Path, since: float) -> Path | None:
    """The results file this run wrote under ``out`` (modified after ``since``), or None."""
    files = [p for p in out.rglob("results_*.json") if p.stat().st_mtime >= since] if out.is_dir() else []
    return max(files, key=lambda p: p.stat().st_mtime) if files else None


def headline_lines(results: dict) -> list[str]:
    full_precision = ((results.get("config") or {}).get("qx") or {}).get("quant") == "none"
    lines = []
    for task, values in sorted((results.get("results") or {}).items()):
        family = _family(task)
        if family is None or not isinstance(values, dict):
            continue
        found = [(m, d, w, values.get(f"{m},none")) for m, d, w in (HEADLINES[family], *FALLBACKS.get(family, ()))]
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
    found = newest_results(out, since)
    if found is None:
        print(f"qxbench: no results file was written under {out}", file=sys.stderr)
        return
    stamp = found.stem.removeprefix("results_")
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
        lines = headline_lines(json.loads(found.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return
    if lines:
        print("headline metrics (each task README defines the rest; `qxbench sweep` and `qxbench gate` compare "
              "a quantized run with full precision):", file=sys.stderr)
        for line in lines:
            print(line, file=sys.stderr)
