"""The leaderboard as text: a compared cell's difference, interval and test as every Markdown table of the
project writes it (:func:`cell_markdown`: the site's download, the README's and the benchmarks' tables), and the
downloads of the site (:func:`downloads`: JSON, CSV, Markdown), by the one number rule (:mod:`leaderboard.fmt`)."""

from __future__ import annotations

import csv
import io
import json

from leaderboard.compare.cell import Cell
from leaderboard.fmt import TINY_NOTE, fmt, fmt_p, fmt_relative, is_tiny

NOISE_MARK = "≈"  # after a difference within the config's noise floor (Cell.within_noise): never marked
NOISE_NOTE = ("≈: within the noise floor, the difference is at most the share of the config's labels that change "
              "with the batch composition (never marked).")


def diff_text(cell: Cell) -> str:
    """The difference as a reader compares it: the relative change for a ``relative`` metric, else in
    the metric's units (:func:`leaderboard.fmt.fmt`)."""
    rel = cell.relative_diff
    return fmt_relative(rel[0]) if rel else fmt(cell.diff, True)


def interval_text(cell: Cell) -> str:
    """"[low, high]" (relative for a ``relative`` metric), '' without an interval."""
    if cell.low is None or cell.high is None:
        return ""
    rel = cell.relative_diff
    if rel:
        return f"[{fmt_relative(rel[1])}, {fmt_relative(rel[2])}]"
    return f"[{fmt(cell.low, True)}, {fmt(cell.high, True)}]"


def cell_markdown(cell: Cell) -> str:
    """A compared cell as every Markdown table of the project writes it (the README's, the task READMEs',
    the benchmarks'): the difference (:func:`diff_text`), bold when marked (:attr:`Cell.significant`: BH
    q <= 5 %), then its interval, or "(corpus)" for a corpus-level difference without one; " n/c" after
    a difference that is not comparable, " ≈" after one within the noise floor (:attr:`Cell.within_noise`);
    without a difference, "(note)" or "n/c"."""
    if cell.diff is None:
        return "n/c" if cell.not_comparable or not cell.note else f"({cell.note})"
    diff = diff_text(cell) + (f" {NOISE_MARK}" if cell.within_noise else "")
    text = f"**{diff}**" if cell.significant else diff
    interval = interval_text(cell)
    text = f"{text} {interval}" if interval else f"{text} (corpus)"
    return f"{text} n/c" if cell.not_comparable else text


def tested_text(cell: Cell) -> str:
    """The paired test behind the mark: p, its BH q and whether it is marked (and why not, within the noise
    floor); '' when not tested."""
    if cell.p is None:
        return ""
    if cell.q is None:
        verb = "differs" if cell.nonzero == 1 else "differ"
        why = f"{cell.nonzero} of {cell.n} documents {verb}, too few for any p <= 0.05: " if cell.untestable else ""
        return f"; sign-flip p = {fmt_p(cell.p)} ({why}not in the false-discovery-rate family: not marked)"
    verdict = "marked" if cell.significant else "not marked"
    why = "within the noise floor, never marked" if cell.within_noise else "q <= 0.05 is marked"
    return f"; sign-flip p = {fmt_p(cell.p)}, BH q = {fmt_p(cell.q)} ({verdict}: {why})"


MD_HEAD = ("| model | config | task | metric | value | full precision | difference | 95% CI | n | p | q (BH) "
           "| verdict |",
           "|---|---|---|---|---:|---:|---:|---|---:|---:|---:|---|")
MD_NOTES = ("**Bold**: marked, q <= 0.05 (Benjamini–Hochberg across every comparison of this table; p: paired "
            "sign-flip permutation test over the same documents). The 95% CI is the paired bootstrap's, "
            "reported as it is. q –: fewer than six documents differ, too few for any p to reach 0.05, so the "
            "comparison is left out of the family. % = relative to full precision.")


def markdown(cells: list[Cell]) -> str:
    """The leaderboard as one Markdown table, by the site's number rule, its marks in bold."""
    md = list(MD_HEAD)
    for c in cells:
        diff = diff_text(c) + (f" {NOISE_MARK}" if c.within_noise else "") if c.diff is not None else "–"
        diff = f"**{diff}**" if c.significant else diff
        verdict = f"not comparable: {c.not_comparable}" if c.not_comparable else c.verdict or "–"
        text = [c.model, c.config, c.task, c.metric]
        numbers = [fmt(c.value), fmt(c.baseline), diff, interval_text(c) or "–", str(c.n), fmt_p(c.p), fmt_p(c.q)]
        cols = [t.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;") for t in [*text, *numbers, verdict]]
        md.append(f"| {' | '.join(cols)} |")
    tiny = any(is_tiny(x) for c in cells for x in (c.value, c.baseline, c.diff))
    noise = any(c.within_noise for c in cells)
    notes = MD_NOTES + (f" {TINY_NOTE}." if tiny else "") + (f" {NOISE_NOTE}" if noise else "")
    return "\n".join([*md, "", notes]) + "\n"


def downloads(cells: list[Cell]) -> dict[str, str]:
    records = [c.as_dict() for c in cells]
    fields = list(records[0]) if records else list(Cell("", "", "", "", 0.0, None).as_dict())
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return {"leaderboard.json": json.dumps(records, indent=1, sort_keys=True, allow_nan=True) + "\n",
            "leaderboard.csv": buf.getvalue(), "leaderboard.md": markdown(cells)}
