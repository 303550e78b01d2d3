"""``qxbench leaderboard build``, ``qxbench gate`` and ``qxbench sweep`` (registered by qxbench.cli, which
imports this module: this module never imports qxbench.cli).

Imports run one way: qxbench's library (errors, preflight, eval_cli, quant ...) <- leaderboard <- the
program's entry point ``qxbench.cli``, which only composes the commands. No module of qxbench's library
imports the leaderboard (``tests/leaderboard/test_sweep.py`` checks both directions). Inside the leaderboard
this module sits on top of the rooms (read -> compare -> render and the gate; sweep apart), which never import
it (``tests/test_layers.py``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qxbench.errors import QxError

GATE_PASS, GATE_FAIL = 0, 1


def cmd_build(args: argparse.Namespace) -> int:
    from leaderboard.compare.pairing import build_cells
    from leaderboard.display import load_display
    from leaderboard.read.runs import group_notes, read_runs
    from leaderboard.render.site import build_site
    from qxbench.preflight import check_output_dir

    check_output_dir(args.out, "-o")  # before the results are read and bootstrapped
    display = load_display()
    runs, notes = read_runs(args.results, display.curve_keys, skip_invalid=getattr(args, "skip_invalid", False))
    cells, more = build_cells(runs, display, iters=args.bootstrap_iters)
    notes = group_notes(notes + more)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    written = build_site(runs, cells, notes, display, args.out)
    print(f"{len(runs)} runs, {len(cells)} cells -> {args.out} ({len(written)} files)")
    return 0


def _one_run(target: Path, role: str):
    from leaderboard.display import load_display
    from leaderboard.read.results import find_results, read_run

    files = find_results(target)
    if len(files) > 1:
        raise QxError(f"--{role} {target} holds {len(files)} results files; name one: "
                      f"{', '.join(str(f) for f in files[:3])}{' ...' if len(files) > 3 else ''}")
    return read_run(files[0], load_display().curve_keys)


def cmd_gate(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from leaderboard.display import load_display
    from leaderboard.fmt import fmt
    from leaderboard.gate import parse_thresholds, run_gate

    thresholds = parse_thresholds(args.max_drop)
    base, cand = _one_run(args.baseline, "baseline"), _one_run(args.candidate, "candidate")
    same = base.path.resolve() == cand.path.resolve() or base.path.read_bytes() == cand.path.read_bytes()
    if same and not args.allow_same_run:
        raise QxError(f"--baseline {args.baseline} and --candidate {args.candidate} are the same run "
                      f"({base.path}): a gate of a run against itself always passes (--allow-same-run to do it anyway)")
    result = run_gate(base, cand, thresholds, load_display(), allow_mismatch=args.allow_mismatch)
    for mismatch in result.mismatches:
        print(f"MISMATCH (compared anyway, --allow-mismatch): {mismatch}")
    for role, run in (("baseline", base), ("candidate", cand)):  # values left out, aggregates unlike their samples
        for problem in run.problems:
            print(f"note: {role}: {problem}")
    table = Table(title=f"qxbench gate: {cand.model} {cand.config} vs {base.model} {base.config}")
    for col in ("task", "metric", "baseline", "candidate", "degradation", "95% CI", "max drop", "verdict"):
        table.add_column(col, justify="left" if col in ("task", "metric", "verdict") else "right")
    for row in result.rows:
        c, ci = row.cell, row.cell.degradation_interval
        verdict = ("FAIL" + (f": {row.problem}" if row.problem else "")) if row.failed else (
            "ok" if row.threshold is not None else "")
        table.add_row(c.task, c.metric, fmt(c.baseline), fmt(c.value), fmt(c.degradation, True),
                      f"[{fmt(ci[0], True)}, {fmt(ci[1], True)}]" if ci else "–", fmt(row.threshold), verdict)
    Console(width=140).print(table)
    print("degradation: positive = worse than the baseline, in the metric's units; 95% CI of the same")
    despite = f" (despite {len(result.mismatches)} mismatches, see above)" if result.mismatches else ""
    if result.failed:
        print(f"FAIL: {'; '.join(f'{r.cell.task}/{r.cell.metric} {r.reason}' for r in result.failed)}{despite}")
        return GATE_FAIL
    print(f"PASS: {result.checked} thresholded metrics within their limits{despite}")
    return GATE_PASS


def cmd_sweep(args: argparse.Namespace) -> int:
    from leaderboard.sweep import execute
    from qxbench.preflight import check_output_dir

    if args.site:
        check_output_dir(args.site, "--site")  # before the configs run, not after
    code = execute.run(args)  # 0, or 1 when a config failed (bad input raises before anything runs)
    if args.site:  # the site of what finished
        built = cmd_build(argparse.Namespace(results=args.output_path, out=args.site, bootstrap_iters=2000,
                                             skip_invalid=False))
        return code or built
    if code == 0:
        print(f"done: qxbench leaderboard build {args.output_path} -o SITE_DIR")
    return code


def add_commands(sub: argparse._SubParsersAction) -> None:
    board = sub.add_parser("leaderboard", help="build the static leaderboard").add_subparsers(
        dest="leaderboard_cmd", required=True)
    build = board.add_parser("build", help="lm-eval results (+ samples) -> static site")
    build.add_argument("results", type=Path, help="directory searched for results_*.json (or one file)")
    build.add_argument("-o", "--out", type=Path, required=True, help="site directory (created)")
    build.add_argument("--bootstrap_iters", type=int, default=2000)
    build.add_argument("--skip-invalid", action="store_true",
                       help="leave out a results file that cannot be read (a note names it and why) and build "
                            "the rest; refused with its one-line error otherwise")
    build.set_defaults(func=cmd_build)

    gate = sub.add_parser("gate", help="exit 0 if no metric degrades beyond its threshold, 1 if one does, "
                                       "2 on bad input")
    gate.add_argument("--baseline", type=Path, required=True, help="full-precision results file (or its directory)")
    gate.add_argument("--candidate", type=Path, required=True, help="quantized results file (or its directory)")
    gate.add_argument("--max-drop", action="append", default=[], metavar="[TASK/]METRIC=X",
                      help="largest allowed degradation in the metric's units (repeatable; at least one)")
    gate.add_argument("--allow-mismatch", action="store_true",
                      help="compare runs of different base models, task versions, --limit or documents "
                           "(refused otherwise); the report lists each mismatch")
    gate.add_argument("--allow-same-run", action="store_true",
                      help="let the baseline and the candidate be the same results file (refused otherwise: "
                           "such a gate always passes)")
    gate.set_defaults(func=cmd_gate)

    sweep = sub.add_parser("sweep", help="evaluate full precision + quantized configs, for `leaderboard build`")
    sweep.add_argument("--model", default="qx-tiny")
    sweep.add_argument("--quants", default="none,bnb-int8,bnb-nf4,gptq:bits=4",
                       help="comma-separated backends, options after colons: gptq:bits=4:group_size=128")
    sweep.add_argument("--tasks", default="cf_flip,nle_sim,memorize,multihop")
    sweep.add_argument("--model_args", default="", help="extra qx model args for every run")
    sweep.add_argument("--metadata", default=None,
                       help="JSON object for every run's tasks, as lm_eval's --metadata; an object under a "
                            "task's name applies to that task only: '{\"data_path\": \"d/\", \"multihop_lre\": "
                            "{\"data_path\": \"chains.csv\"}}'")
    sweep.add_argument("--output_path", type=Path, required=True, help="results go to OUTPUT_PATH/<config>/")
    sweep.add_argument("--site", type=Path, default=None, help="also build the leaderboard site here")
    sweep.add_argument("--limit", type=int, default=None)
    sweep.add_argument("--docs", default=None, metavar="START:END",
                       help="run documents START..END-1 of every task instead of the first --limit (lm-eval's "
                            "--samples); `qxbench merge` joins such a run to the --limit START run")
    sweep.add_argument("--device", default="cpu")
    sweep.add_argument("--batch_size", default="32")
    sweep.add_argument("--force", action="store_true",
                       help="run every config again, even one whose results exist from the same arguments")
    sweep.add_argument("--executor", default="local", choices=("local", "ray"),
                       help="local: one config after another here (default); ray: each config a Ray task "
                            "(pip install qxbench[ray]), on a local Ray instance or the cluster at --address")
    sweep.add_argument("--address", default=None,
                       help="Ray cluster to join (host:port, ray://host:port or auto); default: start a local one")
    sweep.add_argument("--ray_cpus", type=float, default=1.0, help="CPUs each config asks Ray for (default 1)")
    sweep.add_argument("--ray_gpus", type=float, default=None,
                       help="GPUs each config asks Ray for (default: 1 when --device is cuda, else 0)")
    sweep.add_argument("--ray_memory_gb", type=float, default=None, help="memory each config asks Ray for, in GiB")
    sweep.set_defaults(func=cmd_sweep)
