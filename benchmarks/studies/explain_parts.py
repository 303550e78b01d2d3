"""Benchmark: the explanation table's runs grown by documents, one part at a time (issue 38: >= 200
documents per data set). A part is the documents START..END-1 of every variant that the committed
``--limit START`` runs left out, run with the same command otherwise (``qxbench sweep --docs START:END``,
lm-eval's ``--samples``), for every config and the random-init floor, into
``benchmarks/results/parts/<model>/explain[-<dtype>]/docs-<START>-<END-1>/``, outside ``runs/``: the leaderboard
never reads a part (it would not pair 100 documents with 200). One config a session is enough: a config
already in the part is skipped (the sweep's manifest), and each invocation's command and seconds are kept in
the part's ``part.json``.

    python -m benchmarks.studies.explain_parts run --model qwen2.5-coder-1.5b --dtype bfloat16 --docs 100:200 \\
        [--quants none,bnb-int8,...] [--no-random | --random-only]
    python -m benchmarks.studies.explain_parts status --model qwen2.5-coder-1.5b --dtype bfloat16 --docs 100:200
    python -m benchmarks.studies.explain_parts merge --model qwen2.5-coder-1.5b --dtype bfloat16 --docs 100:200

``merge`` joins each committed run with its part (``qxbench merge``: the same model, config, task versions and
configuration, disjoint documents; the joined run is what a ``--limit END`` run reports) once every config
and the floor have one, all or none, and replaces the committed runs with the joined ones (the part's samples
are in them then; ``part.json`` stays). The tables are remade from them by ``explain_real --report-only``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import REPO
from benchmarks.studies import explain_real as er

PARTS = Path("benchmarks/results/parts")


def part_folders(args: argparse.Namespace) -> tuple[Path, Path]:
    """The part's folder (its configs beneath) and the floor's, beside :func:`explain_real.layout`'s runs."""
    runs, floor, _ = er.layout(args)
    start, end = map(int, args.docs.split(":"))
    name = f"docs-{start}-{end - 1}"
    return PARTS / runs.relative_to(er.RUNS) / name, PARTS / floor.relative_to(er.RUNS) / name


def configs(folder: Path) -> dict[str, Path]:
    """Config name -> its results file, for every config folder that holds exactly one run."""
    out = {}
    for sub in sorted(p for p in folder.glob("*") if p.is_dir()):
        found = sorted(sub.rglob("results_*.json"))
        if len(found) > 1:
            raise SystemExit(f"{sub}: {len(found)} results files; one run per config folder")
        if found:
            out[sub.name] = found[0]
    return out


def missing(args: argparse.Namespace) -> list[str]:
    """The committed runs (configs and the floor) that have no part yet."""
    runs, floor, _ = er.layout(args)
    part, part_floor = part_folders(args)
    have = configs(part)
    lacking = [c for c in configs(runs) if c not in have]
    return lacking + ([] if configs(part_floor) or not configs(floor) else ["random-init"])


def record(part: Path, entry: dict) -> None:
    """Append one invocation's command and seconds to the part's ``part.json``."""
    path = part / "part.json"
    kept = json.loads(path.read_text()) if path.is_file() else []
    path.write_text(json.dumps([*kept, entry], indent=1) + "\n")


def run(args: argparse.Namespace) -> None:
    part, part_floor = part_folders(args)
    runs, _, _ = er.layout(args)
    committed = er.read(runs)
    tasks = [t for t in er.FILES if any(t in run.tasks for run in committed)]
    limits = {t.limit for run in committed for t in run.tasks.values()}
    start = int(args.docs.split(":")[0])
    if limits != {start}:
        raise SystemExit(f"--docs {args.docs} continues --limit {start} runs, but {runs} holds --limit "
                         f"{sorted(map(str, limits))}")
    began = time.perf_counter()
    commands, wall = {}, {}
    if not args.random_only:
        commands["sweep"] = er.sweep(args, tasks, part)
        wall["sweep"] = round(time.perf_counter() - began, 1)
    if not args.no_random:
        floor_began = time.perf_counter()
        commands["random-init"] = er.random_floor(args, tasks, part_floor)
        wall["random-init"] = round(time.perf_counter() - floor_began, 1)
    for folder in (part, part_floor):
        if folder.is_dir():
            er.gzip_samples(folder)
    part.mkdir(parents=True, exist_ok=True)
    record(part, {"commands": commands, "wall_seconds": wall, "cpus": os.cpu_count(),
                  "machine": "shared 2-core CPU (other jobs running: seconds are noisy)",
                  "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    status(args)


def status(args: argparse.Namespace) -> None:
    part, _ = part_folders(args)
    runs, _, _ = er.layout(args)
    end = int(args.docs.split(":")[1])
    if {t.limit for run in er.read(runs) for t in run.tasks.values()} == {end}:
        print(f"{part}: merged (the runs in {runs} hold the first {end} documents)")
        return
    lacking = missing(args)
    print(f"{part}: " + (f"still to run: {', '.join(lacking)}" if lacking else "every config and the floor: merge"))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("run", "status", "merge"))
    parser.add_argument("--docs", required=True, metavar="START:END")
    parser.add_argument("--model", default=er.MODEL)
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    parser.add_argument("--quants", default=er.QUANTS)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--no-random", action="store_true", help="leave out the random-init floor")
    parser.add_argument("--random-only", action="store_true", help="the random-init floor only")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    from qxbench.errors import QxError
    from qxbench.preflight import check_docs

    try:
        check_docs(args.docs)
    except QxError as err:
        parser.error(str(err))
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    os.chdir(REPO)
    if not Path(er.DATA).is_dir():
        sys.exit(f"{er.DATA} is absent (run from the repository beside ../shared)")
    {"run": run, "status": status, "merge": merge}[args.action](args)


def pairs(args: argparse.Namespace) -> list[tuple[Path, Path, Path]]:
    """(committed results, its part's results, the part's config folder) for every config and the floor; exits
    naming what is missing."""
    runs, floor, _ = er.layout(args)
    part, part_floor = part_folders(args)
    lacking = missing(args)
    if lacking:
        raise SystemExit(f"{part}: still to run: {', '.join(lacking)}; merge joins every config at once (the "
                         "leaderboard pairs runs of the same documents only)")
    out = []
    for committed, parted in ((runs, part), (floor, part_floor)):
        have = configs(parted)
        out += [(results, have[name], parted / name) for name, results in configs(committed).items()]
    return out


def merge(args: argparse.Namespace) -> None:
    """Every pair joined into a temporary folder first; the committed runs are replaced only when all joined."""
    from qxbench.lmeval.merge import merge as join

    joined = []
    with tempfile.TemporaryDirectory(dir=PARTS) as tmp:
        for i, (committed, parted, folder) in enumerate(pairs(args)):
            done = join(committed, parted, Path(tmp) / str(i))
            joined.append((committed.parent, done.results.parent, folder))
            print(f"{committed.parent}: {' / '.join(sorted({f'{a} + {b}' for a, b in done.docs.values()}))} "
                  f"documents -> --limit {done.limit}")
            if done.note:
                print(f"  note: {done.note}")
        for target, new, part_config in joined:
            for old in [*target.glob("results_*.json"), *target.glob("samples_*.jsonl*")]:
                old.unlink()
            for file in new.iterdir():
                shutil.move(file, target / file.name)
            shutil.rmtree(part_config)
    status(args)


if __name__ == "__main__":
    main()
