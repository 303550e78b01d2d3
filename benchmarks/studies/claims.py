"""The studies' claims, one row each, read from every committed run of the four installed models
(SmolLM2-135M, Gemma 3 270M, Qwen2.5-Coder 0.5B and 1.5B; each "full precision" a dequantized GGUF): holds,
does not hold or cannot tell, with the intervals and Benjamini–Hochberg marks each verdict rests on.

    python -m benchmarks.studies.claims [--runs benchmarks/results/runs] [--out benchmarks/results/claims.json]

Every comparison is the leaderboard's own (``leaderboard.compare.pairing.build_cells``: paired per document
with full precision, the validity guards, the noise floor), one folder of runs (``runs/<model>/<suite>``)
at a time; the marks are then adjusted again across every cell read (one false-discovery-rate family: this
table). A claim about size pairs the two Qwen2.5-Coder models over the same documents (same doc_id and
doc_hash): the one comparison inside one family of models. The rules, fixed before reading the runs:

- ``near_lossless`` (8-bit is near lossless; Yao et al. 2024, Dettmers et al. 2022): per model, over its
  8-bit configs: does not hold if any difference is marked; holds if none is and every headline metric's
  interval lies within ``MARGIN`` (a rate's ±0.05; another metric's ±5 % of full precision); else cannot tell.
- ``four_bit_mixed`` (4-bit moves scores, in no consistent direction): per model, over its 4-bit configs:
  holds if marked differences go both ways; does not if all marked ones go one way; cannot tell if none is.
- ``faithfulness_size`` (larger models keep faithfulness better; arXiv 2601.00282): per config run on both
  Qwen models, per task, each faithfulness metric (``FAITHFULNESS``): the per-document degradation (config
  − full precision, positive = worse) of the 1.5B minus the 0.5B's; holds if every marked one is negative.
- ``salient_size`` (larger full-precision models have more salient neurons; arXiv 2508.16785): the 1.5B's
  per-document ``salient_sum`` minus the 0.5B's at full precision; holds if the interval is above 0.
- ``explanations_first`` (explanations degrade before accuracy): per model, per config and explanation
  task: "explanations first" where an explanation metric (any but the label's: ``acc``, ``agree_fp``,
  ``noise``) is marked worse and ``acc`` is not; "accuracy first" the reverse; holds if only the first occurs,
  does not if the second does. A model whose cf_flip/nle_sim runs are protocol 3 (3.x: answers scored as they
  came, #38) says so, there and in the other per-model rows.

Twins over the label-agreeing documents (``@agree``) are left out of every count: they restrict a cell
already counted.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import asdict, replace
from pathlib import Path

from benchmarks.common import REPO, RESULTS, run
from benchmarks.studies.claims_rules import (
    CANNOT,
    FAITHFULNESS,
    MARGIN,
    MODELS,
    PAIR,
    SMALL,
    Claim,
    Study,
    Verdict,
    explanations_first,
    four_bit_mixed,
    near_lossless,
)
from benchmarks.studies.claims_size import faithfulness_size, full_precision_gap, salient_size


def load(root: Path) -> Study:
    """Every folder of runs under ``root/<model>/`` (the four models'), compared as the leaderboard does."""
    from leaderboard.compare.pairing import apply_fdr, build_cells
    from leaderboard.display import load_display
    from leaderboard.read.runs import read_runs

    display = load_display()
    cells, bits, runs, fps, old = [], {}, {}, {}, {}
    for model in MODELS:
        for folder in sorted(p for p in (root / model).glob("*") if p.is_dir() and any(p.rglob("results_*.json"))):
            found, _ = read_runs(folder)
            if found:
                runs[(model, folder.name)] = found
                cells += build_cells(found, display)[0]
                bits.update({(model, r.config): r.bits for r in found})
                fps[model] = next((r.full_precision for r in found if r.full_precision), fps.get(model, ""))
                old.setdefault(model, set()).update(t for r in found for t, x in r.tasks.items() if t.startswith(
                    ("cf_flip", "nle_sim")) and x.version.startswith("3"))
    return Study(apply_fdr(cells), bits, runs, fps, {m: sorted(t) for m, t in old.items() if t})


def claims(study: Study) -> list[Claim]:
    from leaderboard.display import load_display

    display = load_display()

    def headline(task: str, metric: str) -> bool:
        return metric in ("acc", "agree_fp") or metric in display.headlines(task)

    def of(model: str, bits: int) -> list:
        return [c for c in study.cells if c.model == model and study.bits.get((model, c.config)) == bits]

    def noted(verdicts: Iterable[Verdict]) -> tuple[Verdict, ...]:
        """Each verdict with the notes its runs need: explanation runs of protocol 3; a full precision on a
        4-bit grid (the 0.5B's AWQ checkpoint), wherever the 0.5B's numbers appear."""
        return tuple(replace(v, notes=notes(v)) for v in verdicts)

    def notes(v: Verdict) -> tuple[str, ...]:
        models = [SMALL] if v.scope == PAIR else [v.scope]
        old = [f"{PROTOCOL3}: {', '.join(study.protocol3[m])}" for m in models if study.protocol3.get(m)]
        grid = [f"{AWQ}: {study.full_precision[m]}" for m in models if "4-bit" in study.full_precision.get(m, "")]
        return tuple(old + grid) if v.verdict != CANNOT or grid else ()

    return [
        Claim("near_lossless", "8-bit is near lossless", "LLM.int8() (Dettmers et al. 2022); Yao et al. 2024",
              noted(near_lossless(m, of(m, 8), headline) for m in MODELS)),
        Claim("four_bit_mixed", "4-bit moves scores, in no consistent direction", "arXiv 2601.00282; 2508.16785",
              noted(four_bit_mixed(m, of(m, 4)) for m in MODELS)),
        Claim("faithfulness_size", "larger models keep faithfulness better", "arXiv 2601.00282",
              noted([faithfulness_size(study)])),
        Claim("salient_size", "larger full-precision models have more salient neurons", "arXiv 2508.16785",
              noted([salient_size(study)])),
        Claim("explanations_first", "explanations degrade before accuracy", "arXiv 2601.00282",
              noted(explanations_first(m, [c for c in study.cells if c.model == m
                                           and not study.is_fp(m, c.config)]) for m in MODELS)),
    ]


def markdown(found: list[Claim]) -> str:
    """One row per claim, one column per model and the pair; a note is a mark whose text follows the table."""
    scopes = [*MODELS, PAIR]
    lines = ["| claim | source | " + " | ".join(scopes) + " |", "|---|---|" + "---|" * len(scopes)]
    for claim in found:
        by = {v.scope: v for v in claim.verdicts}
        row = [f"{claim.text} (`{claim.key}`)", claim.source]
        row += [f"**{by[s].verdict}**: {by[s].why}{marks(by[s])}" if s in by else "" for s in scopes]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines + ["", f"{MARKS[PROTOCOL3]} {PROTOCOL3}.  {MARKS[AWQ]} {AWQ}."])


def gap_markdown(tests: list) -> str:
    """The two Qwen models at full precision, 1.5B − 0.5B per task and metric (bold: BH q <= 0.05)."""
    from qxbench.stats import FDR

    lines = ["| full precision, 1.5B − 0.5B | difference [95 % CI] | n | q |", "|---|---:|---:|---:|"]
    for t in tests:
        text = f"{t.mean:+.3g} [{t.low:+.3g}, {t.high:+.3g}]"
        q = "–" if t.q is None else f"{t.q:.3g}"  # –: fewer than six documents differ, not tested (smallest_p)
        lines.append(f"| {t.label} | {f'**{text}**' if t.q is not None and t.q <= FDR else text} | {t.n} | {q} |")
    return "\n".join(lines) if tests else "(no task run by both Qwen models at full precision)"


PROTOCOL3 = "rests on cf_flip/nle_sim runs of protocol 3 (3.x: answers scored as they came, issue 38)"
AWQ = "full precision is a dequantized AWQ 4-bit checkpoint: its configs re-quantize weights on a 4-bit grid"
MARKS = {PROTOCOL3: "³", AWQ: "ᴬ"}


def marks(v: Verdict) -> str:
    return "".join(mark for text, mark in MARKS.items() if any(n.startswith(text) for n in v.notes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=RESULTS / "runs")
    parser.add_argument("--out", type=Path, default=RESULTS / "claims.json")
    args = parser.parse_args()
    study = load(args.runs)
    found = claims(study)
    read = sorted(f"{m}/{s}: {', '.join(r.config for r in runs)}" for (m, s), runs in study.runs.items())
    gap = full_precision_gap(study)
    table = markdown(found) + "\n\n" + gap_markdown(gap)
    args.out.write_text(json.dumps({"command": "python -m benchmarks.studies.claims", "runs_read": read,
                                    "margin": MARGIN, "faithfulness_metrics": list(FAITHFULNESS),
                                    "claims": [asdict(c) for c in found],
                                    "full_precision_gap": [asdict(t) for t in gap], "markdown": table},
                                   indent=1) + "\n")
    print(table)
    print(f"\nwritten: {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")


if __name__ == "__main__":
    run(main)
