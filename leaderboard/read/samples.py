"""The per-document side of a run: the ``samples_<task>_<stamp>.jsonl`` (or ``.jsonl.gz``) file that lm-eval writes
beside ``results_<stamp>.json`` when the run used ``--log_samples``, read into :class:`Samples`.

Nothing read is trusted (:mod:`leaderboard.read.schema` types each line): a file that does not read or a broken
line is a one-line :class:`~qxbench.errors.QxError` naming the file and the line; a document's per-layer curve or
label whose logged answer does not read (:func:`qxbench.probes.logged.read_result`) is left out with a note.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from leaderboard.read.schema import clip, labels, sample_row
from qxbench.errors import QxError, first_line
from qxbench.run_report import samples_lines


@dataclass(frozen=True)
class Samples:
    per_doc: dict[int, dict[str, float]]
    curves: dict[int, list[float]] | None
    hashes: dict[int, str] | None  # None when no line has a doc_hash
    problems: list[str]
    preds: dict[int, int] | None = None  # None when no line's logged answer holds a label
    targets: dict[int, int] | None = None  # a counterfactual's target label per document; None: none logged


def read_samples(path: Path, task: str, curve_key: str | None) -> Samples | None:
    """The samples file of ``task`` beside the results file ``path`` (``.jsonl``, else ``.jsonl.gz``), each line
    checked (:func:`leaderboard.read.schema.sample_row`); None when the run logged none for it."""
    found = samples_lines(path, task)
    if found is None:
        return None
    file, lines = found
    per_doc: dict[int, dict[str, float]] = {}
    curves: dict[int, list[float]] = {}
    hashes: dict[int, str] = {}
    problems: list[str] = []  # one note per document whose curve is left out
    rows: list[tuple[int, int, dict]] = []  # (line number, doc_id, line): their labels are read at the end
    for number_, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            doc, doc_hash, values, curve = sample_row(row, curve_key)
        except (ValueError, TypeError, RecursionError) as err:  # JSONDecodeError is a ValueError
            raise QxError(f"{file}:{number_}: broken sample line: {first_line(err)}") from None
        per_doc[doc] = values
        if isinstance(curve, str):
            problems.append(f"{file.name}:{number_}: {task}: per-layer curve left out: {curve}")
        elif curve is not None:
            curves[doc] = curve
        if doc_hash is not None:
            hashes[doc] = doc_hash
        rows.append((number_, doc, row))
    per_doc, clipped = clip(per_doc, f"{file.name}: {task}")
    preds, targets, unread = labels(rows, file.name, task)
    return Samples(per_doc, curves or None, hashes or None, problems + clipped + unread, preds, targets)


def disagreements(metrics: dict[str, float], per_doc: dict[int, dict[str, float]], where: str) -> list[str]:
    """A finite aggregate in the results that is neither the mean of its finite per-document values (most
    metrics: mean or nanmean) nor their sum (counts: ``utils.total``): a note each; the paired comparisons
    use the samples."""
    out = []
    for metric, value in sorted(metrics.items()):
        docs = [v[metric] for v in per_doc.values() if metric in v and not math.isnan(v[metric])]
        if not docs or not math.isfinite(value) or not all(map(math.isfinite, docs)):
            continue
        total = math.fsum(docs)
        mean = total / len(docs)
        if not any(math.isclose(value, x, rel_tol=1e-6, abs_tol=1e-9) for x in (mean, total)):
            out.append(f"{where}/{metric} is {value:g} in the results, but the mean of its {len(docs)} samples "
                       f"is {mean:g}: compared over the samples")
    return out
