"""What a rater sees of one model's answer to one document, read from lm-eval's ``--log_samples``.

Runs (model, config, results file) come from :mod:`leaderboard.read.runs`; this module reads only the
per-sample response, lm-eval's ``str()`` of the probe's answer, through the one reader of logged answers
(:func:`qxbench.probes.logged.read_result`: schema 1, and the reprs of the committed runs by migration).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qxbench.errors import QxError, first_line
from qxbench.probes.logged import read_result
from qxbench.run_report import samples_lines

FIELDS = {"explanation": ("pred", "explanation"), "counterfactual": ("pred", "target", "rewrite")}


@dataclass(frozen=True)
class Output:
    """One model's answer to one document, as shown to raters (``fields``: label names resolved)."""

    doc_id: int
    doc_hash: str
    text: str  # the input document
    fields: tuple[tuple[str, str], ...]  # e.g. (("predicted", "positive"), ("explanation", "..."))


def _label(doc: dict, index: Any) -> str:
    choices = doc.get("choices") or []
    if isinstance(index, int) and 0 <= index < len(choices):
        return str(choices[index])
    return "(none)"


def shown(kind: str, doc: dict, response: Any) -> tuple[tuple[str, str], ...]:
    """The fields a rater sees of a logged answer (a record of :func:`read_result`), labels resolved to
    their names; an empty text is shown as "(empty)"."""
    missing = [f for f in FIELDS[kind] if not hasattr(response, f)]
    if missing:
        raise ValueError(f"the response ({type(response).__name__}) has no {', '.join(missing)}")
    if kind == "explanation":
        return (("predicted label", _label(doc, response.pred)),
                ("explanation", str(response.explanation) or "(empty)"))
    return (("predicted label", _label(doc, response.pred)), ("requested label", _label(doc, response.target)),
            ("rewrite", str(response.rewrite) or "(empty)"))


def read_outputs(results: Path, task: str, kind: str) -> dict[int, Output]:
    """doc_id -> Output from the samples file of ``task`` beside a results file (``.jsonl``, else the committed runs'
    ``.jsonl.gz``: :func:`qxbench.run_report.samples_lines`); {} where there is none."""
    found = samples_lines(results, task)
    if found is None:
        return {}
    file, lines = found
    out: dict[int, Output] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            doc = row["doc"]
            response = read_result(row["filtered_resps"][0])
            out[int(row["doc_id"])] = Output(int(row["doc_id"]), str(row.get("doc_hash", "")), str(doc["text"]),
                                             shown(kind, doc, response))
        except (ValueError, KeyError, IndexError, TypeError, SyntaxError) as err:
            raise QxError(f"{file}:{number}: cannot read the logged response: {first_line(err)}") from None
    return out
