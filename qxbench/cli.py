"""``qxbench``: eval | tasks | info | quantize | cache ls|rm | world build|train | data twohop | leaderboard build |
gate | sweep | rescore | merge | study make|collect.

``qxbench eval`` takes exactly lm-eval's flags (``lm_eval run --help``) but indexes only qxbench's
task folder, which skips most of the stock CLI's start-up. Bad input ends with one line,
``qxbench: error: ...``, and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from qxbench import __version__
from qxbench._lmeval_hook import qx_task_index
from qxbench.errors import QxError
from qxbench.lmeval.eval_cli import cmd_eval
from qxbench.logs import ENV_VERBOSE


def cmd_tasks(_: argparse.Namespace) -> int:
    for name, kind in qx_task_index().items():
        print(f"{name:24s} {kind}")
    return 0


def _model_args(text: str) -> dict[str, str]:
    pairs = [kv for kv in text.split(",") if kv]
    bad = [kv for kv in pairs if "=" not in kv]
    if bad:
        raise QxError(f"--model_args entry '{bad[0]}' is not key=value")
    return dict(kv.split("=", 1) for kv in pairs)


def cmd_info(args: argparse.Namespace, title: str = "qxbench info") -> int:
    from rich.console import Console
    from rich.table import Table

    from qxbench import logs
    from qxbench.lmeval.adapter import QXLM
    from qxbench.lmeval.logsetup import quiet, setup_logging

    setup_logging("WARNING")  # lm-eval's handler exists, so that quiet() sends its warnings to the log file too
    with quiet(logs.log_path(None)):  # torch's and llm-compressor's messages: to the log file
        lm = QXLM(pretrained=args.model, device=args.device, **_model_args(args.model_args))
    table = Table(title=f"{title} {args.model}")
    table.add_column("field")
    table.add_column("value", justify="right")
    info = lm.qx.as_dict()
    for key, value in [*((k, v) for k, v in info.items() if k != "summary"), *info["summary"].items()]:
        table.add_row(key, f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value))
    Console().print(table)
    return 0


def cmd_quantize(args: argparse.Namespace) -> int:
    """Prepare a cache entry now, so that later evaluations load it."""
    if "quant=" not in args.model_args:
        raise QxError("qxbench quantize needs --model_args quant=<backend>,... (e.g. quant=gptq,bits=4)")
    return cmd_info(args, title="qxbench quantize")


def cmd_cache(args: argparse.Namespace) -> int:
    from qxbench.quant import cache

    if args.cache_cmd == "rm":
        if not args.keys and not args.stale:
            raise QxError("qxbench cache rm needs entry keys (`qxbench cache ls` lists them) or --stale")
        for key in args.keys:
            print(f"removed {cache.remove(key)}")
        for path in cache.remove_stale() if args.stale else []:
            print(f"removed {path} (stale)")
        return 0
    print(f"# {cache.cache_root()}")
    for e in cache.entries():
        spec = e.spec
        print(f"{e.key}  {spec.get('backend')} bits={spec.get('bits')} group_size={spec.get('group_size')} "
              f"{e.bytes / 1e6:.1f} MB  {spec.get('model')}")
    for path, size in cache.stale():
        print(f"{path.name}  stale: left by an interrupted quantization, {size / 1e6:.1f} MB "
              "(`qxbench cache rm --stale` or the next quantization removes it)")
    return 0


def cmd_world_build(args: argparse.Namespace) -> int:
    from qxbench.world.data import DATA_DIR, write_eval_files
    from qxbench.world.generate import build_world

    for path in write_eval_files(build_world(), args.out or DATA_DIR):
        print(path)
    return 0


def cmd_world_train(args: argparse.Namespace) -> int:
    from qxbench.world import train

    train.main([*(["--out", str(args.out)] if args.out else []), "--steps", str(args.steps)])
    return 0


def cmd_data_twohop(args: argparse.Namespace) -> int:
    from collections import Counter

    from qxbench.data.lre import read_relations
    from qxbench.data.twohop import compose, to_csv, unphrased

    if not args.out.parent.is_dir():
        raise QxError(f"-o '{args.out}': the directory {args.out.parent} does not exist")
    relations = read_relations(args.lre, option="--lre")
    chains = compose(relations, max_per_pair=args.max_per_pair, seed=args.seed)
    to_csv(chains, args.out)
    for (r1, r2), n in Counter((c.r1, c.r2) for c in chains).items():
        print(f"{r1} -> {r2}: {n}")
    skipped = unphrased(relations)
    if skipped:
        print(f"# not used as r1 (no descriptive mention): {', '.join(skipped)}")
    print(f"{len(chains)} chains -> {args.out}")
    return 0


def cmd_rescore(args: argparse.Namespace) -> int:
    from qxbench.lmeval.rescore import describe, rescore, results_files

    files = results_files(args.paths)
    total = 0
    for path in files:
        for item in rescore(path, write=not args.check):
            total += 1
            kinds = _kind_changes(item.changed)
            moved = ", ".join(f"{m} {_short(a)} -> {_short(b)}" for m, (a, b) in sorted(item.metrics.items())
                              if not m.endswith("_stderr"))
            added = f"; added {', '.join(item.added)}" if item.added else ""
            print(f"{path}: {item.task} {item.old} -> {item.new}: {kinds}" + (f"; {moved}" if moved else "") + added)
    verb = "would be rescored (--check: nothing written)" if args.check else "rescored"
    print(f"{total} task(s) {verb} in {len(files)} results file(s) ({describe()})")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from qxbench.lmeval.merge import merge
    from qxbench.preflight import check_output_dir

    check_output_dir(args.output_path, "--output_path")
    done = merge(args.first, args.second, args.output_path)
    counts = sorted({f"{a} + {b}" for a, b in done.docs.values()})
    limit = f"--limit {done.limit}" if done.limit is not None else "not the first N documents: no --limit"
    print(f"{done.results}: {len(done.docs)} task(s), {' / '.join(counts)} documents ({limit})")
    if done.note:
        print(f"note: {done.note}", file=sys.stderr)
    return 0


def _kind_changes(changed: tuple[tuple[int, str, str], ...], listed: int = 5) -> str:
    """Each document's change of kind, up to ``listed`` of them; more are counted by change."""
    if not changed:
        return "no answer changed kind"
    if len(changed) <= listed:
        return ", ".join(f"doc {d}: {a} -> {b}" for d, a, b in changed)
    counts = Counter(f"{a} -> {b}" for _, a, b in changed)
    return f"{len(changed)} answers changed kind (" + ", ".join(f"{k} {n}" for k, n in counts.most_common()) + ")"


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qxbench", description="Quantization x explainability benchmark (on lm-eval).")
    p.add_argument("--version", action="version", version=f"qxbench {__version__}")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="library warnings and logs on the terminal too (default: only in the run's log file; "
                        "also QX_VERBOSE=1)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("eval", help="run lm-eval on qxbench's tasks (same flags as `lm_eval run`)", add_help=False)
    sub.add_parser("tasks", help="list qxbench's tasks, groups and tags").set_defaults(func=cmd_tasks)
    for name, func, text in (
        ("info", cmd_info, "load a model through the qx adapter and describe it"),
        ("quantize", cmd_quantize, "quantize into the cache now (e.g. --model_args quant=gptq,bits=4)"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("model", help="embedded name (qx-tiny), local directory or Hugging Face id")
        cmd.add_argument("--model_args", default="", help="qx model args, e.g. quant=gptq,bits=4,group_size=128")
        cmd.add_argument("--device", default="cpu")
        cmd.set_defaults(func=func)
    cache = sub.add_parser("cache", help="the quantized-model cache").add_subparsers(dest="cache_cmd", required=True)
    cache.add_parser("ls", help="list entries").set_defaults(func=cmd_cache)
    rm = cache.add_parser("rm", help="remove entries by key")
    rm.add_argument("keys", nargs="*")
    rm.add_argument("--stale", action="store_true", help="also remove what interrupted quantizations left")
    rm.set_defaults(func=cmd_cache)
    world = sub.add_parser("world", help="the embedded synthetic world").add_subparsers(dest="world_cmd", required=True)
    build = world.add_parser("build", help="write the evaluation split files")
    build.add_argument("--out", type=Path, default=None, help="directory (default: the packaged data folder)")
    build.set_defaults(func=cmd_world_build)
    train = world.add_parser("train", help="train the embedded model qx-tiny (about 19 min on 2 cores: the "
                                           "packaged model's qx_training.json records 1159 s)")
    train.add_argument("--out", type=Path, default=None, help="directory (default: the packaged qx-tiny)")
    train.add_argument("--steps", type=int, default=1600)
    train.set_defaults(func=cmd_world_train)
    data = sub.add_parser("data", help="build evaluation files from real datasets").add_subparsers(
        dest="data_cmd", required=True)
    twohop = data.add_parser("twohop", help="compose two-hop chains (TwoHopFact's columns) from LRE relations")
    twohop.add_argument("--lre", required=True, help="a directory of LRE relation files (searched recursively)")
    twohop.add_argument("-o", "--out", type=Path, required=True, help="the CSV to write (multihop_lre's data_path)")
    twohop.add_argument("--max-per-pair", type=int, default=None,
                        help="at most N chains per relation pair (default: all)")
    twohop.add_argument("--seed", type=int, default=0, help="seed of the --max-per-pair draw")
    twohop.set_defaults(func=cmd_data_twohop)
    from qxbench.lmeval.rescore import describe

    rescore = sub.add_parser("rescore", help="rescore runs under a newer answer reader from their samples, no model "
                                             f"run ({describe(reads=True)})")
    rescore.add_argument("paths", nargs="+", type=Path, help="results_*.json files, or folders searched for them")
    rescore.add_argument("--check", action="store_true", help="say what would change; write nothing")
    rescore.set_defaults(func=cmd_rescore)
    merge = sub.add_parser("merge", help="join two runs of one model and config on disjoint documents (a --limit N "
                                         "run and a sweep --docs N:M run) into the run of both, from their samples")
    merge.add_argument("first", type=Path, help="a results_*.json file, or the folder holding one")
    merge.add_argument("second", type=Path, help="the other part, likewise")
    merge.add_argument("-o", "--output_path", type=Path, required=True,
                       help="the joined run goes to OUTPUT_PATH/<model>/ (it must hold no results yet)")
    merge.set_defaults(func=cmd_merge)
    from leaderboard.cli import add_commands
    from qxbench.study.cli import add_commands as add_study_commands

    add_commands(sub)
    add_study_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    while argv[:1] and argv[0] in ("-v", "--verbose"):
        os.environ[ENV_VERBOSE] = "1"
        argv = argv[1:]
    try:
        if argv[:1] == ["eval"]:
            return cmd_eval(argv[1:])
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except KeyboardInterrupt:
        from tqdm import tqdm

        for bar in list(getattr(tqdm, "_instances", ())):
            bar.close()
        # on a line of its own: a progress bar redraws with carriage returns and may have left its line open
        print("\nqxbench: interrupted", file=sys.stderr)
        return 130
    except (ValueError, AttributeError) as err:  # QxError is a ValueError
        from qxbench._lmeval_hook import error_line

        line = error_line(err)
        if line is None:
            raise
        print(f"qxbench: error: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
