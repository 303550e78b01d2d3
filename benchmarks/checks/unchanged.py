"""Check: the code at two revisions gives the same outputs on every committed run (issue 40's proof of
"behaviour unchanged").

Every committed lm-eval results file under ``benchmarks/results`` names its run: the model args, the tasks,
each task's metadata (data files, chat settings), the batch size. Each distinct run is repeated at ``--limit``
documents per task by the code of ``--before`` and of ``--after`` (``git worktree`` s, imported through
``PYTHONPATH``), and the two outputs are compared: every task's metrics, ``config.qx`` (but seconds and paths)
and every logged sample, field by field (a logged answer's JSON read as JSON). Values must be equal (NaN equals
NaN); a field only one side has is listed apart (a record that gained a field); a field a deliberate change
inside the range moves (:data:`EXPECTED`, named by its commit) is listed as expected. bnb-int8 runs are reported
like the others and marked: its outlier columns depend on the batch (benchmarks/results/bnb_int8_batch.json).
Both sides read quantized models from the one quantized-model cache ($QXBENCH_HOME): the check covers every
pass after quantization (the quantizers have their own golden tests).

    python -m benchmarks.checks.unchanged --before 8755fea --after HEAD --limit 3
        [--only smollm2] [--work /tmp/qx-unchanged] [--out benchmarks/results/unchanged.json]

The outputs are kept under ``--work``; the same command again runs only what is not there (``--compare-only``:
nothing).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, RESULTS, random_init_checkpoint, run

SKIP_QX = {"probe_seconds", "phase_seconds", "quantize_seconds", "path", "cache_path", "cache_hit"}
SKIP_TOP = {"alias"}
# fields that differ by where and in which order the two sides ran, not by what the code does: the task file's
# path (each revision's worktree) and whether memorize's reference attributions came from the shared cache
# (qxbench.probes.refcache: the side that runs second finds the first side's)
SKIP_FIELDS = {"config_source", "reference_cached"}
DIFFS_KEPT = 5  # differing fields listed per task
# Deliberate changes of behaviour inside a compared range: where --before lacks the commit and --after has it,
# a difference in these fields is listed under "expected" (naming the commit), not counted as a change.
EXPECTED = ({"commit": "0347316", "fields": ("pred_again", "noise"),
             "why": "issue 38's review mend: the noise floor splits in two a run whose documents fit one batch "
                    "(at --limit 3, every run); before it the same batch was classified again, so pred_again "
                    "equalled pred by construction"},)


def runs(only: str | None) -> list[dict[str, Any]]:
    """The distinct runs of the committed results files: model args, tasks with their metadata, chat, batch."""
    files = subprocess.run(["git", "ls-files", "benchmarks/results"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split()
    seen: dict[str, list[dict[str, Any]]] = {}
    for name in sorted(f for f in files if Path(f).name.startswith("results_") and f.endswith(".json")):
        out = json.loads((REPO / name).read_text())
        config = out["config"]
        args = config["model_args"]
        model_args = args if isinstance(args, str) else ",".join(f"{k}={v}" for k, v in args.items())
        tasks = {t: _metadata(c.get("metadata") or {}, args) for t, c in sorted(out["configs"].items())}
        spec = {"model_args": model_args, "tasks": tasks, "batch_size": str(config.get("batch_size") or 1),
                "chat": bool(out.get("chat_template")), "system": out.get("system_instruction"), "files": [name]}
        if only and only not in model_args:
            continue
        key = json.dumps({k: v for k, v in spec.items() if k not in {"files", "tasks"}}, sort_keys=True)
        same = seen.setdefault(key, [])
        into = next((s for s in same if all(s["tasks"][t] == m for t, m in tasks.items() if t in s["tasks"])), None)
        if into is None:  # a run of the same model whose shared tasks read the same files: one run does both
            same.append(spec)
        else:
            into["tasks"] = dict(sorted((into["tasks"] | tasks).items()))
            into["files"].append(name)
    return [spec for specs in seen.values() for spec in specs]


def _metadata(meta: dict[str, Any], model_args: Any) -> dict[str, Any]:
    """A task's metadata as given on the command line: lm-eval adds the version, its config file and the model
    args."""
    return {k: v for k, v in meta.items() if k not in {"version", "config_source"}
            and not (isinstance(model_args, dict) and k in model_args)}


def command(spec: dict[str, Any], limit: int, out: Path) -> list[str]:
    argv = [sys.executable, "-m", "lm_eval", "--model", "qx", "--model_args", spec["model_args"],
            "--tasks", ",".join(spec["tasks"]), "--device", "cpu", "--batch_size", spec["batch_size"],
            "--limit", str(limit), "--log_samples", "--output_path", str(out),
            "--metadata", json.dumps(spec["tasks"])]
    if spec["chat"]:
        argv.append("--apply_chat_template")
    if spec["system"]:
        argv += ["--system_instruction", spec["system"]]
    return argv


def worktree(rev: str, root: Path) -> tuple[Path, str]:
    """A detached worktree of ``rev`` under ``root`` (made once) and its commit. The runs name their files as
    they were given (``../shared/...``, relative to the repository: a calibration file's name is part of the
    quantized-model cache's key), so ``shared`` beside the repository is linked beside the worktrees too."""
    if not (root / "shared").exists() and (REPO.parent / "shared").exists():
        root.mkdir(parents=True, exist_ok=True)
        (root / "shared").symlink_to(REPO.parent / "shared")
    commit = subprocess.run(["git", "rev-parse", rev], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout.strip()
    path = root / commit[:12]
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), commit], cwd=REPO, check=True,
                       capture_output=True)
    return path, commit


def random_floor(spec: dict[str, Any], tree: Path, work: Path) -> None:
    """A random-init floor (``pretrained=<model>-random-init``, a folder beside the run, as
    :func:`benchmarks.studies.explain_real.random_floor` makes it: seed 0) is built once and linked into ``tree``."""
    name = dict(kv.split("=", 1) for kv in spec["model_args"].split(","))["pretrained"]
    if not name.endswith("-random-init") or (tree / name).exists():
        return
    built = work / "random" / name
    if not built.exists():
        built.parent.mkdir(parents=True, exist_ok=True)
        random_init_checkpoint(built, name.removesuffix("-random-init"))
    (tree / name).symlink_to(built)


def done_before(spec: dict[str, Any], limit: int, root: Path) -> tuple[Path, dict[str, Any]] | None:
    """A folder under ``root`` (one revision's outputs) whose newest results are this run's (the same model
    args, tasks and limit), and those results: an interrupted check goes on without running them again."""
    for folder in sorted(p for p in root.glob("*") if p.is_dir()) if root.exists() else []:
        found = sorted(folder.rglob("results_*.json"))
        if not found:
            continue
        done = json.loads(found[-1].read_text())
        args = done["config"]["model_args"]
        joined = args if isinstance(args, str) else ",".join(f"{k}={v}" for k, v in args.items())
        if joined == spec["model_args"] and set(done["configs"]) == set(spec["tasks"]) \
                and done["config"]["limit"] == limit:
            return folder, done
    return None


def execute(spec: dict[str, Any], tree: Path, limit: int, out: Path) -> tuple[Path, dict[str, Any], float]:
    """The run by ``tree``'s code, or its outputs already under ``out``'s parent: the folder, the results
    file's contents (or the error's last lines) and the seconds."""
    if (done := done_before(spec, limit, out.parent)) is not None:
        return done[0], done[1], float(done[1].get("total_evaluation_time_seconds") or 0.0)
    env = {**os.environ, "PYTHONPATH": str(tree), "QX_VERBOSE": "0"}
    if out.exists():  # never read an earlier run's files as this one's
        shutil.rmtree(out)
    start = time.perf_counter()
    done = subprocess.run(command(spec, limit, out), cwd=tree, env=env, capture_output=True, text=True)
    seconds = round(time.perf_counter() - start, 1)
    found = sorted(out.rglob("results_*.json"))
    if done.returncode or not found:
        return out, {"error": (done.stderr or done.stdout).strip().splitlines()[-3:]}, seconds
    return out, json.loads(found[-1].read_text()), seconds


def samples(out: Path, task: str) -> dict[int, dict[str, Any]]:
    found = sorted(out.rglob(f"samples_{task}_*.jsonl*"))
    if not found:
        return {}
    opener = gzip.open if found[-1].suffix == ".gz" else open
    with opener(found[-1], "rt") as handle:
        return {row["doc_id"]: row for row in map(json.loads, handle)}


def _plain(value: Any) -> Any:
    """A logged answer's JSON text read as JSON (schema 1: ``{"schema", "type", "value"}``)."""
    if isinstance(value, str) and value.startswith("{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def diff(a: Any, b: Any, path: str = "") -> tuple[list[str], list[str]]:
    """(paths whose values differ, paths only one side has: ``-path`` before only, ``+path`` after only)."""
    a, b = _plain(a), _plain(b)
    if isinstance(a, dict) and isinstance(b, dict):
        a, b = ({k: v for k, v in side.items() if k not in SKIP_FIELDS} for side in (a, b))
        apart = [f"-{path}.{k}" for k in a.keys() - b.keys()] + [f"+{path}.{k}" for k in b.keys() - a.keys()]
        changed: list[str] = []
        for key in sorted(a.keys() & b.keys(), key=str):
            c, d = diff(a[key], b[key], f"{path}.{key}")
            changed, apart = changed + c, apart + d
        return changed, apart
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        changed, apart = [], []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            c, d = diff(x, y, f"{path}[{i}]")
            changed, apart = changed + c, apart + d
        return changed, apart
    same = a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
    return ([] if same else [path]), []


def field_name(path: str) -> str:
    """The last name of a differing path (``doc 2.resps[0][0].value.pred_again`` -> ``pred_again``, a metric's
    ``.noise,none`` -> ``noise``)."""
    return re.split(r"[.\[\]]", path.rstrip("]"))[-1].split(",")[0]


def expected_fields(before: str, after: str) -> dict[str, str]:
    """Field -> the deliberate change (commit) that moves it between the two commits (:data:`EXPECTED`)."""
    def has(commit: str, rev: str) -> bool:
        return subprocess.run(["git", "merge-base", "--is-ancestor", commit, rev], cwd=REPO).returncode == 0

    return {f: e["commit"] for e in EXPECTED if has(e["commit"], after) and not has(e["commit"], before)
            for f in e["fields"]}


def split_expected(changed: list[str], expected: dict[str, str]) -> tuple[list[str], list[str]]:
    """(the changes, those that a deliberate change explains, each with its commit)."""
    return ([p for p in changed if field_name(p) not in expected],
            [f"{p} ({expected[field_name(p)]})" for p in changed if field_name(p) in expected])


def compare(before: dict[str, Any], after: dict[str, Any], out: tuple[Path, Path],
            expected: dict[str, str] | None = None) -> dict[str, Any]:
    """Each task's metrics and samples, and config.qx, before vs after; differences in ``expected`` fields
    (:func:`expected_fields`) are listed apart, as expected."""
    expected = expected or {}
    qx = [{k: v for k, v in side["config"].get("qx", {}).items() if k not in SKIP_QX} for side in (before, after)]
    changed, apart = diff(*qx)
    report: dict[str, Any] = {"config_qx": {"changed": changed, "apart": apart}, "tasks": {}}
    for task in sorted(before["results"].keys() | after["results"].keys()):
        metrics = [{k: v for k, v in side["results"].get(task, {}).items() if k not in SKIP_TOP}
                   for side in (before, after)]
        m_all, m_apart = diff(*metrics)
        m_changed, m_expected = split_expected(m_all, expected)
        docs = [samples(side, task) for side in out]
        s_changed, s_expected, s_apart, differing = [], [], set(), 0
        for doc in sorted(docs[0].keys() | docs[1].keys()):
            c, d = diff(docs[0].get(doc, {}), docs[1].get(doc, {}))
            c, e = split_expected([f"doc {doc}{p}" for p in c], expected)
            differing += bool(c)
            s_changed, s_expected = s_changed + c, s_expected + e
            s_apart |= {re.sub(r"\[\d+\]", "[]", p) for p in d}  # one line per field, whatever the list item
        report["tasks"][task] = {"documents": len(docs[1]), "metrics_changed": m_changed, "metrics_apart": m_apart,
                                 "documents_changed": differing, "sample_fields_changed": s_changed[:DIFFS_KEPT],
                                 "sample_fields_apart": sorted(s_apart),
                                 **({"expected": m_expected + s_expected} if m_expected or s_expected else {})}
    return report


def identical(report: dict[str, Any]) -> bool:
    """Every value both sides have is equal (fields only one side has are listed, not counted)."""
    return not report["config_qx"]["changed"] and all(
        not t["metrics_changed"] and not t["documents_changed"] for t in report["tasks"].values())


def chains(spec: dict[str, Any], work: Path) -> dict[str, Any]:
    """A multihop task whose chains file is gone (they were written to /tmp by ``qxbench data twohop``) reads
    one composed the same way (:func:`benchmarks.studies.real_model.compose_chains`), once, for both sides."""
    tasks = dict(spec["tasks"])
    for task, meta in tasks.items():
        path = meta.get("data_path")
        if task.startswith("multihop") and isinstance(path, str) and not (REPO / path).exists():
            composed = work / "chains.csv"
            if not composed.exists():
                from benchmarks.studies.real_model import compose_chains

                work.mkdir(parents=True, exist_ok=True)
                compose_chains(composed)
            tasks[task] = {**meta, "data_path": str(composed)}
    return {**spec, "tasks": tasks}


def check(spec: dict[str, Any], trees: dict[str, tuple[Path, str]], args: argparse.Namespace) -> dict:
    """One run by both revisions (or their outputs already under ``--work``), compared."""
    key = hashlib.sha256(json.dumps([spec, args.limit], sort_keys=True, default=str).encode()).hexdigest()[:16]
    spec = chains(spec, args.work)
    outs = {side: args.work / "out" / trees[side][1][:12] / key for side in trees}
    results, seconds = {}, {}
    for side, (tree, _) in trees.items():
        if args.compare_only:
            done = done_before(spec, args.limit, outs[side].parent)
            outs[side], results[side] = done or (outs[side], {"error": ["not run (--compare-only)"]})
            seconds[side] = float(results[side].get("total_evaluation_time_seconds") or 0.0)
            continue
        random_floor(spec, tree, args.work)
        outs[side], results[side], seconds[side] = execute(spec, tree, args.limit, outs[side])
    row = {**{k: v for k, v in spec.items() if k != "tasks"}, "tasks": list(spec["tasks"]), "seconds": seconds,
           "batch_dependent": "quant=bnb-int8" in spec["model_args"]}
    if any("error" in r for r in results.values()):
        row["errors"] = {side: r["error"] for side, r in results.items() if "error" in r}
    else:
        row |= compare(results["before"], results["after"], (outs["before"], outs["after"]),
                       expected_fields(trees["before"][1], trees["after"][1]))
        row["identical"] = identical(row)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="8755fea", help="the code before (default: the commit before issue 40)")
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--limit", type=int, default=3)
    parser.add_argument("--only", default=None, help="only runs whose model args contain this text")
    parser.add_argument("--work", type=Path, default=Path("/tmp/qx-unchanged"))
    parser.add_argument("--out", type=Path, default=RESULTS / "unchanged.json")
    parser.add_argument("--compare-only", action="store_true", help="run nothing: compare the outputs already "
                        "under --work, and list the runs without them as not run")
    args = parser.parse_args()
    trees = {side: worktree(rev, args.work) for side, rev in (("before", args.before), ("after", args.after))}
    rows = []
    for i, spec in enumerate(runs(args.only)):
        rows.append(row := check(spec, trees, args))
        print(f"{i}: {spec['model_args'][:70]} {len(spec['tasks'])} tasks: "
              f"{row.get('identical', 'error')} {row['seconds']}", flush=True)
    summary = {"before": trees["before"][1], "after": trees["after"][1], "limit": args.limit,
               "runs": len(rows), "identical": sum(r.get("identical") is True for r in rows),
               "errors": sum("errors" in r for r in rows), "python": sys.version.split()[0],
               "expected_changes": [e for e in EXPECTED if set(e["fields"]) & set(expected_fields(
                   trees["before"][1], trees["after"][1]))],
               "runs_with_expected_changes": sum(any("expected" in t for t in r.get("tasks", {}).values())
                                                 for r in rows)}
    args.out.write_text(json.dumps({"summary": summary, "runs": rows}, indent=1) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    run(main)
