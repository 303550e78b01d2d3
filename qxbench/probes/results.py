"""The answers of the probe request types that are not explainability answers (those are in
:mod:`qxbench.probes.selfexplain`): what :class:`qxbench.lmeval.requests.ProbeRequests` returns and
lm-eval logs per sample (``str()``: schema-1 JSON, :mod:`qxbench.probes.logged`), and what the tasks'
``process_results`` read.
"""

from __future__ import annotations

from dataclasses import dataclass

from qxbench.probes.attribution import Attribution
from qxbench.probes.logged import log_text


@dataclass(frozen=True)
class MemorizeLog:
    """What is logged of one :class:`MemorizeResult` (the fields logged before schema 1)."""

    completion: str
    surviving: int | None
    overlap: float | None
    options: dict[str, str]
    reference_cached: bool | None
    target: int
    gold: int
    gold_logprob: float
    gold_rank: int
    attn_imp: list[float]
    ffn_imp: list[float]
    tau: float  # the 300th score; NaN without neurons
    top300: list[tuple[int, int, float]]  # (layer, neuron, score), descending
    scored: int


@dataclass(frozen=True)
class MemorizeResult:
    """``str()`` is what lm-eval logs per sample: :class:`MemorizeLog` (per-layer scores, top-300 neurons)."""

    completion: str
    attribution: Attribution
    surviving: int | None  # neurons >= the reference's top-300 threshold; None without a reference
    overlap: float | None  # |top-300 here & top-300 of the reference| / 300; None without a reference
    options: dict[str, str]  # the definitions used (attribution.AttributionOptions.as_dict)
    reference_cached: bool | None = None  # the reference's attribution was read from refcache; None: no reference

    def logged(self) -> MemorizeLog:
        a = self.attribution
        return MemorizeLog(completion=self.completion, surviving=self.surviving, overlap=self.overlap,
                           options=self.options, reference_cached=self.reference_cached, target=a.target, gold=a.gold,
                           gold_logprob=a.gold_logprob, gold_rank=a.gold_rank, attn_imp=a.attn_imp,
                           ffn_imp=a.ffn_imp, tau=a.tau, top300=[tuple(t) for t in a.top], scored=a.scored)

    def __str__(self) -> str:
        return log_text(self.logged())


@dataclass(frozen=True)
class MultiHopResult:
    """``str()`` is what lm-eval logs per sample (schema 1), with the per-layer EntRec curve."""

    entrec: list[float]
    cnst: float
    completions: dict[str, str]  # keyed by the prompt column: r1(e1), r2(e2), r2(r1(e1))

    def __str__(self) -> str:
        return log_text(self)


@dataclass(frozen=True)
class NextToken:
    """One calib answer; the definitions and their reference lines are in :mod:`qxbench.probes.nexttoken`.
    ``str()`` is what lm-eval logs per sample (schema 1)."""

    mode: str  # "free": the greedy next token (the reference's); "choices": the best of the answer set
    prediction: str  # free: tokenizer.decode(greedy id), special tokens kept, unstripped; choices: the choice
    token: int | None  # free: the greedy token id; choices: None
    confidence: float  # free: its softmax probability; choices: its softmax probability among the choices
    correct: bool
    options: dict[str, str]  # the definitions used (nexttoken.NextTokenOptions.as_dict)
    choice_probs: tuple[float, ...] = ()  # choices: softmax over the answer set, in the document's order

    def __str__(self) -> str:
        return log_text(self)
