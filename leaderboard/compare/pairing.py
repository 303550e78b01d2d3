"""Pair each run with its model's full-precision run, metric by metric, over the same documents; mark the
differences that survive the Benjamini–Hochberg false-discovery-rate rule across the whole leaderboard."""

from __future__ import annotations

import math
from dataclasses import replace

from leaderboard.compare.cell import Cell
from leaderboard.compare.guards import apply_guards, note_guards
from leaderboard.compare.labels import AGREE_FP, agreeing_docs, agreement, mark_noise, restrict
from leaderboard.display import Display
from leaderboard.read.results import Run, TaskResult
from leaderboard.twins import twin
from qxbench.stats import bh_adjust, paired_diff


def changed_docs(base: TaskResult, cand: TaskResult) -> set[int]:
    """The documents both runs evaluated under one doc_id whose lm-eval doc_hash differs (a changed
    dataset); empty when either run logged no doc_hash (older files pair by doc_id alone)."""
    if not base.doc_hashes or not cand.doc_hashes:
        return set()
    return {d for d in base.doc_hashes.keys() & cand.doc_hashes.keys() if base.doc_hashes[d] != cand.doc_hashes[d]}


def comparable(base: TaskResult, cand: TaskResult, task: str) -> str:
    """Why two results of a task cannot be compared ('' when they can)."""
    if base.version != cand.version:
        return f"{task}: task versions differ ({base.version} vs {cand.version})"
    if base.limit != cand.limit:
        return f"{task}: --limit differs ({base.limit} vs {cand.limit})"
    if base.n != cand.n:
        return f"{task}: document counts differ ({base.n} vs {cand.n})"
    if base.per_doc is not None and cand.per_doc is not None and set(base.per_doc) != set(cand.per_doc):
        return f"{task}: the runs evaluated different documents"
    changed = changed_docs(base, cand)
    if changed:
        shared = len(base.doc_hashes.keys() & cand.doc_hashes.keys())  # type: ignore[union-attr]
        return f"{task}: the runs evaluated different documents: {len(changed)} of {shared} doc_hash differ"
    if base.task_hash and cand.task_hash and base.task_hash != cand.task_hash:
        return f"{task}: the runs evaluated different documents: task_hashes differ"
    return ""


def mismatches(base: Run, cand: Run) -> list[str]:
    """Everything that makes two runs not comparable: base model, and per shared task the version,
    --limit, document count or document set. Empty when they are comparable."""
    found = [f"base models differ ({base.model} vs {cand.model})"] if base.model != cand.model else []
    if base.dtype != cand.dtype:
        found.append(f"dtypes differ ({base.dtype} vs {cand.dtype})")
    for task in sorted(set(base.tasks) & set(cand.tasks)):
        why = comparable(base.tasks[task], cand.tasks[task], task)
        if why:
            found.append(why)
    return found


def defined_values(result: TaskResult, metric: str) -> dict[int, float] | None:
    """doc_id -> the metric's finite per-document value; None without per-sample logs."""
    if result.per_doc is None:
        return None
    return {d: v[metric] for d, v in result.per_doc.items() if metric in v and math.isfinite(v[metric])}


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values)


def _pair(cell: Cell, cand: TaskResult, base: TaskResult, reference: float, iters: int) -> Cell:
    """``cell`` compared with ``reference``: over the documents both runs define when both logged
    per-document values, else the two reported values side by side (no interval), each on its own documents."""
    own, theirs = defined_values(cand, cell.metric), defined_values(base, cell.metric)
    n_base = len(theirs) if theirs else (base.n or 0)
    unpaired = replace(cell, baseline=reference, diff=cell.value - reference, n_baseline=n_base)
    if own is None or theirs is None:
        return replace(unpaired, note="no per-sample logs (--log_samples): no confidence interval")
    if not own and not theirs:
        return replace(unpaired, note="no per-document values (a corpus-level metric): no confidence interval")
    docs = sorted(own.keys() & theirs.keys() - changed_docs(base, cand))  # pairs: same doc_id and doc_hash
    if not docs:  # the guards' coverage rule makes this not comparable
        return replace(unpaired, n=0, n_value=len(own), paired=True, note="no document with a value in both runs")
    b, c = [theirs[d] for d in docs], [own[d] for d in docs]
    if cell.count:  # sums over the same documents, as full precision's row shows a count; no interval
        return replace(cell, value=math.fsum(c), baseline=math.fsum(b), diff=math.fsum(c) - math.fsum(b),
                       n=len(docs), n_value=len(own), n_baseline=n_base, paired=True)
    paired = paired_diff(b, c, iters=iters)
    out = replace(cell, value=_mean(c), baseline=_mean(b), diff=paired.mean, low=paired.low, high=paired.high,
                  n=paired.n, n_value=len(own), n_baseline=n_base, paired=True, p=paired.p, nonzero=paired.nonzero)
    if cell.relative and min(b + c) > 0:  # the geometric mean's change: tested and shown on the log scale
        ratio = paired_diff([math.log(x) for x in b], [math.log(x) for x in c], iters=iters)
        out = replace(out, log_ratio=ratio.mean, log_low=ratio.low, log_high=ratio.high, p=ratio.p,
                      nonzero=ratio.nonzero)
    return out


def _sparse(cell: Cell, own: dict[int, float] | None, result: TaskResult) -> Cell:
    """``cell`` with a note when its value is the mean over fewer documents than were evaluated."""
    if own is None or not own or result.per_doc is None or len(own) == len(result.per_doc):
        return cell
    sparse = (f"the mean is over {len(own)} of {len(result.per_doc)} documents (the others have no finite "
              "value)")
    return replace(cell, note=f"{cell.note}; {sparse}" if cell.note else sparse)


def compare_task(model: str, config: str, task: str, cand: TaskResult, base: TaskResult | None, display: Display,
                 *, note: str = "", iters: int = 2000) -> list[Cell]:
    """One cell per candidate metric; with ``base``, its difference to it, value and baseline over the
    same documents (paired per document when both runs logged samples), and the validity guards of
    display.yaml applied (without ``base``: only the notes of :func:`leaderboard.compare.guards.note_guards`). A
    value that is not finite on either side is shown, never compared."""
    cells = []
    for metric, value in sorted(cand.metrics.items()):
        hib = display.higher_is_better(task, metric, cand.higher_is_better.get(metric))
        own = defined_values(cand, metric)
        n_value = len(own) if own else (cand.n or 0)
        cell = Cell(model, config, task, metric, value, hib, n=n_value, n_value=n_value,
                    relative=display.relative(task, metric), count=display.count(task, metric))
        if not math.isfinite(value):
            cell = replace(cell, note=f"{value} in the results: not compared")
        elif base is None or metric not in base.metrics:
            cell = replace(cell, note=note if base is None else "not in the full-precision run")
        elif not math.isfinite(base.metrics[metric]):
            cell = replace(cell, baseline=base.metrics[metric],
                           note=f"full precision is {base.metrics[metric]}: not compared")
        else:
            cell = _pair(cell, cand, base, base.metrics[metric], iters)
        cells.append(_sparse(cell, own, cand))
    if base is None:  # shown as values: a guard on the run's own value can only say so in a note
        return note_guards(cells, display.guards(task))
    cells += label_cells(model, config, task, cand, base, display, cells, iters)
    cells = apply_guards(cells, display.guards(task), chance_level(display.chance(task), base), set(base.metrics))
    return mark_noise(cells, cand, display.noise_floor(task), base)


def chance_level(declared: float | None, base: TaskResult) -> float | None:
    """The accuracy a guard calls chance: display.yaml's 1 / labels, or the evaluated sample's majority rate
    where full precision's run reports it (cf_flip / nle_sim 4.x ``chance``), whichever is higher: always
    answering the sample's most frequent label reaches it (issue 38: majorities of 0.52-0.64 on 3 labels)."""
    found = [v for v in (declared, base.metrics.get("chance")) if v is not None and math.isfinite(v)]
    return max(found) if found else None


def label_cells(model: str, config: str, task: str, cand: TaskResult, base: TaskResult, display: Display,
                cells: list[Cell], iters: int) -> list[Cell]:
    """What the logged labels add (:mod:`leaderboard.compare.labels`): the twin of each paired cell of display.yaml's
    ``agreeing`` metrics, and ``agree_fp`` where neither run reports it; none without both runs' labels."""
    listed = display.agreeing(task)
    agree = agreeing_docs(base, cand) if listed else None  # _pair leaves out documents whose doc_hash differs
    if agree is None:
        return []
    out = [_twin(c, restrict(cand, agree), restrict(base, agree), iters)
           for c in cells if c.metric in listed and c.paired]
    sides = agreement(base, cand)
    if sides is not None:
        hib = display.higher_is_better(task, AGREE_FP, None)
        out.append(_pair(Cell(model, config, task, AGREE_FP, math.nan, hib), *sides, 1.0, iters))
    return out


def _twin(cell: Cell, cand: TaskResult, base: TaskResult, iters: int) -> Cell:
    """``cell``'s comparison again over the documents ``cand`` and ``base`` are restricted to (the label-agreeing
    ones); n_value and n_baseline stay those of every document, so the coverage guard makes it not comparable
    when fewer than half of full precision's are left."""
    start = Cell(cell.model, cell.config, cell.task, cell.metric, math.nan, cell.higher_is_better,
                 relative=cell.relative, count=cell.count)
    out = _pair(start, cand, base, math.nan, iters)
    if not out.paired:  # no label-agreeing document has a value in either run
        out = replace(start, baseline=math.nan, diff=math.nan, n=0, paired=True,
                      note="no document whose label equals full precision's has a value in both runs")
    return replace(out, metric=twin(cell.metric), n_value=cell.n_value, n_baseline=cell.n_baseline)


def _own(fp: Run, task: str, display: Display) -> list[Cell]:
    """Full precision's ``agree_fp``, 1 by definition, where the leaderboard derives it (:func:`label_cells`)."""
    result = fp.tasks[task]
    if result.preds is None or AGREE_FP in result.metrics or not display.agreeing(task):
        return []
    hib, n = display.higher_is_better(task, AGREE_FP, None), len(result.preds)
    return [Cell(fp.model, fp.config, task, AGREE_FP, 1.0, hib, n=n, n_value=n, note="its own labels: 1 by definition")]


def tested(cell: Cell) -> bool:
    """A comparison that could be marked: paired, with a p-value, comparable, with a direction, and with
    enough documents differing that the test could reach p <= FDR (:attr:`Cell.untestable`)."""
    return (cell.p is not None and not math.isnan(cell.p) and not cell.not_comparable
            and cell.higher_is_better is not None and not cell.untestable)


def filtered_out(cell: Cell) -> bool:
    """A comparison :func:`tested` would take but for :attr:`Cell.untestable`: counted beside the family."""
    return cell.untestable and tested(replace(cell, nonzero=None))


def apply_fdr(cells: list[Cell]) -> list[Cell]:
    """``cells`` with ``q`` set on every :func:`tested` one: the Benjamini–Hochberg adjustment of their
    p-values taken together (one family: the table they appear in); the others get q = None."""
    family = [i for i, c in enumerate(cells) if tested(c)]
    pvalues = [p for i in family if (p := cells[i].p) is not None]  # every tested cell has one
    adjusted = dict(zip(family, bh_adjust(pvalues), strict=True))
    return [replace(c, q=adjusted.get(i)) for i, c in enumerate(cells)]


def build_cells(runs: list[Run], display: Display, *, iters: int = 2000) -> tuple[list[Cell], list[str]]:
    """Every (model, config, task, metric); quantized runs paired with their model's ``fp`` run.
    Returns the cells and the notes (missing baselines and metrics, refused comparisons) to show the user.
    The marks control the false discovery rate across every comparison of the leaderboard (:func:`apply_fdr`):
    the index summarises them all, so they are one table."""
    fp = {(r.model, r.dtype): r for r in runs if r.is_fp}
    cells: list[Cell] = []
    notes: list[str] = []
    for run in runs:
        base_run = fp.get((run.model, run.dtype))
        if run.is_fp:  # full precision is shown as values, not as a difference to itself
            for task, result in run.tasks.items():
                cells += compare_task(run.model, run.config, task, result, None, display) + _own(run, task, display)
            continue
        other = sorted(d for m, d in fp if m == run.model and d != run.dtype)
        missing = (f"dtypes differ (full precision {', '.join(other)} vs {run.dtype})" if other
                   else "no full-precision run")
        if base_run is None:
            what = (f"in {run.dtype} (only in {', '.join(other)}: runs of different dtypes are not paired)" if other
                    else "(quant=none)")
            notes.append(f"{run.model}: no full-precision run {what}; {run.config} is shown as absolute values")
        for task, result in run.tasks.items():
            base = base_run.tasks.get(task) if base_run else None
            why = comparable(base, result, task) if base is not None else ""
            if why:
                notes.append(f"{run.model} {run.config}: not compared with full precision: {why}")
                base = None
            elif base is not None:
                notes += [f"{run.model} {run.config}: {task}/{m} is missing (full precision has it)"
                          for m in sorted(set(base.metrics) - set(result.metrics))]
            note = why or (missing if base_run is None else "")
            refused = why or (missing if base_run is None and other else "")  # another dtype's FP: n/c, not values
            new = compare_task(run.model, run.config, task, result, base, display, note=note, iters=iters)
            cells += [replace(c, not_comparable=refused) for c in new] if refused else new  # shown n/c, never marked
    return apply_fdr(cells), notes
