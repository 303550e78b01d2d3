"""The answers of the probe request types that are not explainability answers (those are in
:mod:`qxbench.probes.selfexplain`): what :class:`qxbench.probes.requests.ProbeRequests` returns and
lm-eval logs per sample (``str()``: JSON), and what the tasks' ``process_results`` read.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from qxbench.probes.attribution import Attribution


@dataclass(frozen=True)
class MemorizeResult:
    """``str()`` is what lm-eval logs per sample: JSON with the per-layer scores and the top-300 neurons."""

    completion: str
    attribution: Attribution
    surviving: int | None  # neurons >= the reference's top-300 threshold; None without a reference
    overlap: float | None  # |top-300 here & top-300 of the reference| / 300; None without a reference
    options: dict[str, str]  # the definitions used (attribution.AttributionOptions.as_dict)
    reference_cached: bool | None = None  # the reference's attribution was read from refcache; None: no reference

    def __str__(self) -> str:
        return json.dumps({"completion": self.completion, "surviving": self.surviving, "overlap": self.overlap,
                           "options": self.options, "reference_cached": self.reference_cached,
                           **self.attribution.log()})


@dataclass(frozen=True)
class MultiHopResult:
    """``str()`` is what lm-eval logs per sample: JSON with the per-layer EntRec curve."""

    entrec: list[float]
    cnst: float
    completions: dict[str, str]  # keyed by the prompt column: r1(e1), r2(e2), r2(r1(e1))

    def __str__(self) -> str:
        return json.dumps(asdict(self))


@dataclass(frozen=True)
class NextToken:
    """One calib answer; the definitions and their reference lines are in :mod:`qxbench.probes.nexttoken`.
    ``str()`` is what lm-eval logs per sample (JSON)."""

    mode: str  # "free": the greedy next token (the reference's); "choices": the best of the answer set
    prediction: str  # free: tokenizer.decode(greedy id), special tokens kept, unstripped; choices: the choice
    token: int | None  # free: the greedy token id; choices: None
    confidence: float  # free: its softmax probability; choices: its softmax probability among the choices
    correct: bool
    options: dict[str, str]  # the definitions used (nexttoken.NextTokenOptions.as_dict)
    choice_probs: tuple[float, ...] = ()  # choices: softmax over the answer set, in the document's order

    def __str__(self) -> str:
        return json.dumps(asdict(self))
