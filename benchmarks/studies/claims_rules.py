"""The rules of the claims study (:mod:`benchmarks.studies.claims`, whose docstring states them): the
verdict types and the within-model claims, read from the leaderboard's cells."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

MODELS = ("smollm2-135m", "gemma3-270m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")  # by size
SMALL, LARGE = "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"  # one family: the size claims pair these two
PAIR = "0.5B vs 1.5B"  # the size claims' scope
MARGIN = 0.05
FAITHFULNESS = ("unfaithful", "flip_rate_ref")  # nle_sim's insertion test; cf_flip's own-judged flips
ACCURACY = "acc"
LABELS = ("acc", "agree_fp", "noise")  # the label's metrics: neither explanation nor (but acc) accuracy
HOLDS, NOT, CANNOT = "holds", "does not hold", "cannot tell"



@dataclass(frozen=True)
class Verdict:
    scope: str  # a model, or PAIR
    verdict: str  # HOLDS, NOT or CANNOT
    why: str  # one line: what the verdict rests on
    evidence: tuple[str, ...] = ()  # the cells (or paired tests) behind it, one line each
    notes: tuple[str, ...] = ()  # what a reader must know of the runs it rests on (a baseline, a protocol)


@dataclass(frozen=True)
class Claim:
    key: str
    text: str
    source: str
    verdicts: tuple[Verdict, ...]


@dataclass(frozen=True)
class Study:
    """The cells of every run read, each with its model's bits per config and full-precision note."""

    cells: list  # leaderboard Cells, one BH family
    bits: dict  # (model, config) -> bits (None: full precision)
    runs: dict  # (model, suite) -> the folder's Runs
    full_precision: dict  # model -> what its full precision is (the provenance's words)
    protocol3: dict  # model -> its cf_flip/nle_sim tasks whose runs are protocol 3 (versions 3.x)

    def is_fp(self, model: str, config: str) -> bool:
        """Whether ``config`` is one of ``model``'s full-precision runs (``Run.is_fp``, never its name)."""
        return any(r.is_fp for (m, _), runs in self.runs.items() if m == model for r in runs if r.config == config)


def cell_line(c) -> str:
    """One cell as evidence: config, task, metric, the difference (a relative metric's as a relative change,
    as tested), its interval and q."""
    rel = c.relative_diff
    if rel is not None:
        return f"{c.config} {c.task} {c.metric}: {rel[0]:+.1%} [{rel[1]:+.1%}, {rel[2]:+.1%}]" + tested(c)
    interval = "" if c.low is None else f" [{c.low:+.3g}, {c.high:+.3g}]"
    return f"{c.config} {c.task} {c.metric}: {c.diff:+.3g}{interval}" + tested(c)


def tested(c) -> str:
    q = "" if c.q is None else f" q={c.q:.3g}"
    return q + (" marked" if c.significant else (" (within noise)" if c.within_noise else ""))


def within_margin(c) -> bool | None:
    """Whether a compared cell's interval lies within :data:`MARGIN` (a rate's absolute ±0.05, a relative
    metric's ±5 %, another metric's ±5 % of full precision); None without an interval."""
    if c.low is None or c.high is None or c.diff is None:
        return None
    if c.relative and c.relative_diff is not None:
        _, low, high = c.relative_diff
        return max(abs(low), abs(high)) <= MARGIN
    rate = 0.0 <= min(c.value, c.baseline) and max(c.value, c.baseline) <= 1.0
    scale = 1.0 if rate else abs(c.baseline or 0.0)
    return max(abs(c.low), abs(c.high)) <= MARGIN * scale


def compared(cells: Iterable) -> list:
    """The cells with a direction, compared and comparable; a metric's twin over the label-agreeing documents
    (``@agree``) left out: it restricts a cell already counted."""
    from leaderboard.twins import twin_of

    return [c for c in cells if c.degradation is not None and c.diff is not None and twin_of(c.metric) is None]


def near_lossless(model: str, cells: list, headline: Callable[[str, str], bool]) -> Verdict:
    cells = compared(cells)
    if not cells:
        return Verdict(model, CANNOT, "no 8-bit run compared with full precision")
    marked = [c for c in cells if c.significant]
    if marked:
        return Verdict(model, NOT, f"{len(marked)} of {len(cells)} differences marked",
                       tuple(cell_line(c) for c in marked))
    heads = [c for c in cells if headline(c.task, c.metric) and c.low is not None]
    wide = [c for c in heads if not within_margin(c)]
    if not heads:
        return Verdict(model, CANNOT, "nothing marked, but no headline metric has an interval")
    if wide:
        return Verdict(model, CANNOT, f"nothing marked of {len(cells)}, but {len(wide)} of {len(heads)} headline "
                       f"intervals reach beyond ±{MARGIN:g}", tuple(cell_line(c) for c in wide))
    return Verdict(model, HOLDS, f"nothing marked of {len(cells)}; every headline interval ({len(heads)}) within "
                   f"±{MARGIN:g}", tuple(cell_line(c) for c in heads))


def four_bit_mixed(model: str, cells: list) -> Verdict:
    cells = compared(cells)
    if not cells:
        return Verdict(model, CANNOT, "no 4-bit run compared with full precision")
    marked = [c for c in cells if c.significant]
    worse = [c for c in marked if c.verdict == "worse"]
    better = [c for c in marked if c.verdict == "better"]
    lines = tuple(cell_line(c) for c in marked)
    counts = f"{len(worse)} worse, {len(better)} better of {len(cells)} differences"
    if not marked:
        return Verdict(model, CANNOT, f"nothing marked of {len(cells)} differences")
    return Verdict(model, HOLDS if worse and better else NOT, counts, lines)


def explanations_first(model: str, cells: list) -> Verdict:
    """Per (config, task) of cf_flip/nle_sim: which marked degradation came without the other."""
    cells = [c for c in compared(cells) if c.task.startswith(("cf_flip", "nle_sim"))]
    if not cells:
        return Verdict(model, CANNOT, "no explanation run compared with full precision")
    first: dict[str, list[str]] = {"explanations": [], "accuracy": []}
    for key in sorted({(c.config, c.task) for c in cells}):
        group = [c for c in cells if (c.config, c.task) == key]
        acc = [c for c in group if c.metric == ACCURACY and c.significant and c.verdict == "worse"]
        expl = [c for c in group if c.metric not in LABELS and c.significant and c.verdict == "worse"]
        if expl and not acc:
            first["explanations"] += [cell_line(c) for c in expl]
        elif acc and not expl:
            first["accuracy"] += [cell_line(c) for c in acc]
    e, a = first["explanations"], first["accuracy"]
    why = f"explanations worse with accuracy unmarked: {len(e)} cells; accuracy worse alone: {len(a)} cells"
    verdict = CANNOT if not (e or a) else NOT if a else HOLDS
    return Verdict(model, verdict, why, tuple(e + a))
