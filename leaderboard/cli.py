"""``qxbench leaderboard build``, ``qxbench gate`` and ``qxbench sweep`` (registered by qxbench.cli, which
imports this module: this module never imports qxbench.cli)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qxbench.errors import QxError

GATE_PASS, GATE_FAIL = 0, 1


def cmd_build(args: argparse.Namespace) -> int:
    from leaderboard.compare import build_cells
    from leaderboard.display import load_display
    from leaderboard.runs import read_runs
    from leaderboard.site import build_site

    display = load_display()
    runs, notes = read_runs(args.results, display.curve_keys)
    cells, more = build_cells(runs, display, iters=args.bootstrap_iters)
    notes += more
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    written = build_site(runs, cells, notes, display, args.out)
    print(f"{len(runs)} runs, {len(cells)} cells -> {args.out} ({len(written)} files)")
    return 0


def _one_run(target: Path, role: str):
    from leaderboard.display import load_display
    from leaderboard.runs import find_results, read_run

    files = find_results(target)
    if len(files) > 1:
        raise QxError(f"--{role} {target} holds {len(files)} results files; name one: "
                      f"{', '.join(str(f) for f in files[:3])}{' ...' if len(files) > 3 else ''}")
    display = load_display()
    run = read_run(files[0], display.curve_keys)
    for problem in run.problems:
        print(f"note: {role}: {problem}", file=sys.stderr)
    return run


def cmd_gate(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from leaderboard.display import fmt, load_display
    from leaderboard.gate import parse_thresholds, run_gate

    thresholds = parse_thresholds(args.max_drop)
    base, cand = _one_run(args.baseline, "baseline"), _one_run(args.candidate, "candidate")
    if base.quant != "none":
        print(f"note: the baseline is quant={base.quant}, not full precision", file=sys.stderr)
    result = run_gate(base, cand, thresholds, load_display(), allow_mismatch=args.allow_mismatch)
    for mismatch in result.mismatches:
        print(f"MISMATCH (compared anyway, --allow-mismatch): {mismatch}")
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


def parse_configs(text: str) -> list[dict[str, str]]:
    """``none,bnb-nf4,gptq:bits=4:group_size=128`` -> model-arg dicts; ``none`` is put first."""
    from qxbench.quant import QuantRequest, get_quantizer

    configs = []
    for item in [c.strip() for c in text.split(",") if c.strip()]:
        backend, *pairs = item.split(":")
        args = {"quant": backend}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or key not in ("bits", "group_size"):
                raise QxError(f"--quants entry '{item}': options are bits=N and group_size=N, got '{pair}'")
            args[key] = value
        bits, group = args.get("bits"), args.get("group_size")
        try:
            request = QuantRequest(backend, int(bits) if bits else None, int(group) if group else None)
        except ValueError:
            raise QxError(f"--quants entry '{item}': bits and group_size must be whole numbers") from None
        get_quantizer(request)  # unknown backend / unsupported bits -> one line, before anything runs
        configs.append(args)
    if not any(c["quant"] == "none" for c in configs):
        print("note: adding quant=none: the leaderboard compares every config with full precision", file=sys.stderr)
        configs.insert(0, {"quant": "none"})
    return sorted(configs, key=lambda c: c["quant"] != "none")


MANIFEST = "qx_sweep.json"  # next to a config's results: the arguments that produced them


def _manifest(argv: list[str], model_args: str, args: argparse.Namespace) -> dict[str, object]:
    from qxbench import __version__

    return {"qxbench": __version__, "argv": argv, "model_args": model_args, "tasks": args.tasks, "limit": args.limit}


def _done(out: Path, manifest: dict[str, object]) -> Path | None:
    """The results file of an earlier run of exactly these arguments, or None (run it)."""
    try:
        recorded = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    results = sorted(out.rglob("results_*.json"), key=lambda p: p.stat().st_mtime)
    return results[-1] if recorded == manifest and results else None


def cmd_sweep(args: argparse.Namespace) -> int:
    """One ``qxbench eval`` per config into OUTPUT_PATH/<config>/. A config whose results exist from the
    same arguments (``qx_sweep.json``, written when its run ends) is skipped; ``--force`` redoes it."""
    from qxbench.eval_cli import cmd_eval  # never qxbench.cli: it imports this module

    configs = parse_configs(args.quants)
    for config in configs:
        label = "-".join(v for v in config.values())
        out = args.output_path / label
        model_args = ",".join([f"pretrained={args.model}", *(f"{k}={v}" for k, v in config.items()),
                               *([args.model_args] if args.model_args else [])])
        argv = ["--model", "qx", "--model_args", model_args, "--tasks", args.tasks, "--device", args.device,
                "--batch_size", str(args.batch_size), "--output_path", str(out),
                "--log_samples", *(["--limit", str(args.limit)] if args.limit else [])]
        manifest = _manifest(argv, model_args, args)
        done = None if args.force else _done(out, manifest)
        if done is not None:
            print(f"skip {label}: results exist ({done.relative_to(args.output_path)}); --force to redo", flush=True)
            continue
        print(f"== {label}: qxbench eval {' '.join(argv)}", flush=True)
        cmd_eval(argv)
        out.mkdir(parents=True, exist_ok=True)
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    if args.site:
        return cmd_build(argparse.Namespace(results=args.output_path, out=args.site, bootstrap_iters=2000))
    print(f"done: qxbench leaderboard build {args.output_path} -o SITE_DIR")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    board = sub.add_parser("leaderboard", help="build the static leaderboard").add_subparsers(
        dest="leaderboard_cmd", required=True)
    build = board.add_parser("build", help="lm-eval results (+ samples) -> static site")
    build.add_argument("results", type=Path, help="directory searched for results_*.json (or one file)")
    build.add_argument("-o", "--out", type=Path, required=True, help="site directory (created)")
    build.add_argument("--bootstrap_iters", type=int, default=2000)
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
    gate.set_defaults(func=cmd_gate)

    sweep = sub.add_parser("sweep", help="evaluate full precision + quantized configs, for `leaderboard build`")
    sweep.add_argument("--model", default="qx-tiny")
    sweep.add_argument("--quants", default="none,bnb-int8,bnb-nf4,gptq:bits=4",
                       help="comma-separated backends, options after colons: gptq:bits=4:group_size=128")
    sweep.add_argument("--tasks", default="cf_flip,nle_sim,memorize,multihop")
    sweep.add_argument("--model_args", default="", help="extra qx model args for every run")
    sweep.add_argument("--output_path", type=Path, required=True, help="results go to OUTPUT_PATH/<config>/")
    sweep.add_argument("--site", type=Path, default=None, help="also build the leaderboard site here")
    sweep.add_argument("--limit", type=int, default=None)
    sweep.add_argument("--device", default="cpu")
    sweep.add_argument("--batch_size", default="32")
    sweep.add_argument("--force", action="store_true",
                       help="run every config again, even one whose results exist from the same arguments")
    sweep.set_defaults(func=cmd_sweep)
