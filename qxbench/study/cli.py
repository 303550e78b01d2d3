"""``qxbench study make`` and ``qxbench study collect`` (registered by qxbench.cli, which imports this
module: this module never imports qxbench.cli)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from qxbench.errors import QxError

RATINGS_PREFIX = "qx_human_ratings_"  # the leaderboard looks for RUNS_DIR/**/qx_human_ratings_*.json


def cmd_make(args: argparse.Namespace) -> int:
    from qxbench.preflight import check_output_dir
    from qxbench.study.make import make_study, write_study

    check_output_dir(args.out, "-o")  # before the runs are read
    study = make_study(args.runs, items=args.items, seed=args.seed, raters=args.raters)
    for note in study.notes:
        print(f"note: {note}", file=sys.stderr)
    written = write_study(study, args.out)
    pages = [p.name for p in written if p.suffix == ".html"]
    print(f"study {study.manifest['id']}: {len(study.manifest['items'])} items -> {args.out}\n"
          f"  rating pages: {', '.join(pages)} (send these; keep key.json to yourself)\n"
          f"  then: qxbench study collect {args.out} ANSWERS.json ... -o {args.runs}")
    return 0


def ratings_path(study_dir: Path, out: Path | None, study_id: str) -> Path:
    """Where collect writes: ``-o`` as given (a directory: the ratings file in it), else the study folder.
    Never a path read from a file: the study id is checked to be 12 hex digits (:mod:`qxbench.study.files`)."""
    name = f"{RATINGS_PREFIX}{study_id}.json"
    if out is None:
        return study_dir / name
    if out.suffix.lower() == ".json" and not out.is_dir():
        return out
    out.mkdir(parents=True, exist_ok=True)  # a folder, new or not (a run folder the leaderboard reads)
    return out / name


def write_new(path: Path, text: str, *, force: bool) -> None:
    """``text`` into a new file: an existing file (or link) is refused, unless ``force`` replaces it (the
    link itself, never what it points to)."""
    if force:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.unlink(missing_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        return
    try:
        with path.open("x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise QxError(f"{path} already exists (ratings collected before); name another file with -o, "
                      "or pass --force to replace it") from None


def cmd_collect(args: argparse.Namespace) -> int:
    from qxbench.preflight import check_new_file
    from qxbench.study.collect import collect
    from qxbench.study.make import dumps

    if args.out is not None and not args.out.is_dir():
        check_new_file(args.out, "-o")
    result = collect(args.study, args.answers, iters=args.bootstrap_iters)
    out = check_new_file(ratings_path(args.study, args.out, result["study_id"]), "-o")
    for r in result["raters"]:
        state = "complete" if r["ratings"] == r["expected"] else "partial"
        print(f"rater {r['rater']}: {r['ratings']}/{r['expected']} ratings ({state})"
              f"{' [simulated]' if r['simulated'] else ''}")
    write_new(out, dumps(result), force=args.force)
    print(f"-> {out}; `qxbench leaderboard build RUNS_DIR` shows the files named {RATINGS_PREFIX}*.json under "
          "RUNS_DIR on the probe pages (collect with -o RUNS_DIR to write it there)")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    study = sub.add_parser("study", help="a blinded user study of explanations and counterfactuals").add_subparsers(
        dest="study_cmd", required=True)
    make = study.add_parser("make", help="--log_samples runs of nle_sim / cf_flip -> rating pages, items and key")
    make.add_argument("runs", type=Path, help="directory of full-precision and quantized runs (results + samples)")
    make.add_argument("-o", "--out", type=Path, required=True, help="study directory (created; must be new)")
    make.add_argument("--items", type=int, default=30, help="items per task (default 30)")
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--raters", type=int, default=0,
                      help="also one page per rater, r1..rR, each in its own item order (default: the shared "
                           "page only, which asks for the rater's name)")
    make.set_defaults(func=cmd_make)
    coll = study.add_parser("collect", help="answer files -> ratings per config, paired differences, agreement")
    coll.add_argument("study", type=Path, help="the study directory (study.json, key.json)")
    coll.add_argument("answers", type=Path, nargs="+", help="answer files downloaded from the rating pages")
    coll.add_argument("-o", "--out", type=Path, default=None,
                      help=f"results file, or a directory for {RATINGS_PREFIX}<study>.json (default: the study "
                           "directory); `qxbench leaderboard build RUNS_DIR` finds it under RUNS_DIR")
    coll.add_argument("--force", action="store_true", help="replace a results file collected before")
    coll.add_argument("--bootstrap_iters", type=int, default=2000)
    coll.set_defaults(func=cmd_collect)
