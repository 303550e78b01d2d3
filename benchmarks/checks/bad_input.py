"""Every case of issue 28 ("Bad input never costs work") and of issue 39 ("Nothing read from disk is
trusted": hostile results files for ``leaderboard build`` and ``gate``), rerun as a user would type it.

    python -m benchmarks.checks.bad_input > benchmarks/results/bad_input.txt     # ~6 min on 2 cores
    python -m benchmarks.checks.bad_input leaderboard                            # issue 39's results files, ~1 min
    python -m benchmarks.checks.bad_input trust                                  # issue 39's resume store, dtype, home

One line per case: the exit status, the status expected, ``ok`` or ``UNEXPECTED``, the case, and the
last line the command printed on stderr (or what was checked). Every command runs the installed
console scripts (``qxbench``, ``lm_eval``) in a scratch directory with its own cache and log.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import REPO

ROOT = REPO
BIN = Path(sys.executable).parent
EVAL = ["eval", "--model", "qx", "--tasks", "memorize", "--device", "cpu", "--limit", "1"]


def run(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    tool = args[0] if args[0] in ("lm_eval",) else "qxbench"
    argv = [str(BIN / tool), *(args[1:] if tool == "lm_eval" else args)]
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    lines = [line for line in done.stderr.splitlines() if line.strip() and "it/s]" not in line]
    if not lines:  # nothing on stderr: what it printed last, or its skip lines
        out = done.stdout.strip().splitlines()
        lines = [" / ".join(x for x in out if x.startswith("skip"))] if any(x.startswith("skip") for x in out) else out
    return done.returncode, lines[-1] if lines else ""


def line(code: int, expected: int, case: str, said: str) -> None:
    verdict = "ok" if code == expected else "UNEXPECTED"
    print(f"exit {code}  expect {expected}  {verdict:10s} {case}  | {said[:260]}", flush=True)


def files(tmp: Path) -> dict[str, Path]:
    """The bad data files of the issue, and a folder under a file."""
    out = {}
    for name, content in {
        "empty.csv": b"", "binary.csv": bytes(range(256)) * 4, "binary.json": b"\x89PNG\r\n\x1a\n\x00" * 30,
        "truncated.jsonl": b'{"sentence": "good film", "label": 1}\n{"sentence": "bad fi',
        "string_label.jsonl": b'{"sentence": "good film", "label": "positive"}\n',
        "float_label.csv": b"sentence,label\ngood film,1.7\n",
        "ecqa.csv": b"q_text,q_op1,q_op2,q_op3,q_op4,q_op5,q_ans,taskA_pos\nq,a,b,c,d,e,zzz,x\n\xff\n",
        "empty.json": b"", "truncated.json": b'{"name": "r", "samples": [{"subject": "a", "obj',
        "ragged.csv": b'prompt,gold\nIs it?,True\n"open quote,True\n', "a_file": b"last week's results\n",
    }.items():
        (tmp / name).write_bytes(content)
        out[name] = tmp / name
    return out


def write_pair(root: Path) -> tuple[Path, Path]:
    """A full-precision and an NF4 run of qx-tiny's cf_flip, 4 documents, with samples (as lm-eval writes them)."""
    paths = []
    for quant, bits, values, stamp in (("none", None, [1.0, 1.0, 0.0, 1.0], "10"),
                                       ("bnb-nf4", 4, [1.0, 1.0, 0.0, 0.0], "11")):
        folder = root / quant
        folder.mkdir(parents=True, exist_ok=True)
        name = f"2026-11-23T{stamp}-00-00.000000"
        rows = [{"doc_id": i, "doc_hash": f"doc-{i}", "metrics": ["flip_rate"], "flip_rate": v}
                for i, v in enumerate(values)]
        (folder / f"samples_cf_flip_{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        data = {"results": {"cf_flip": {"flip_rate,none": sum(values) / 4}}, "versions": {"cf_flip": 1.0},
                "n-samples": {"cf_flip": {"original": 4, "effective": 4}}, "task_hashes": {"cf_flip": "t"},
                "higher_is_better": {"cf_flip": {"flip_rate": True}}, "date": float(stamp) * 3600,
                "config": {"model": "qx", "limit": None, "qx": {"model": "qx-tiny", "quant": quant, "bits": bits}}}
        (folder / f"results_{name}.json").write_text(json.dumps(data))
        paths.append(folder / f"results_{name}.json")
    return paths[0], paths[1]


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _samples(path: Path, change) -> None:
    samples = next(path.parent.glob("samples_*.jsonl"))
    rows = [json.loads(x) for x in samples.read_text().splitlines()]
    samples.write_text("".join(json.dumps(change(r) or r) + "\n" for r in rows))


def _qx(key, value):
    return lambda d: d["config"]["qx"].__setitem__(key, value)


LEADERBOARD_CASES = [  # (case, edit of the NF4 run's results, of its samples lines, exit of build, of gate)
    ("config.qx.bits=[4]", _qx("bits", [4]), None, 2, 2),
    ("config.qx.bits=10**400", _qx("bits", 10**400), None, 2, 2),
    ("n-samples=[1,2]", lambda d: d.__setitem__("n-samples", [1, 2]), None, 2, 2),
    ('higher_is_better={"nle_sim":"yes"}', lambda d: d.__setitem__("higher_is_better", {"nle_sim": "yes"}), None, 2, 2),
    ("versions=[1]", lambda d: d.__setitem__("versions", [1]), None, 2, 2),
    ('config.qx.provenance="abc"', _qx("provenance", "abc"), None, 2, 2),
    ("config.qx.model deleted", lambda d: d["config"]["qx"].pop("model"), None, 2, 2),
    ("config.qx.quant deleted", lambda d: d["config"]["qx"].pop("quant"), None, 2, 2),
    ("date=1e300 (a note)", lambda d: d.__setitem__("date", 1e300), None, 0, 0),
    ('date="yesterday" (a note)', lambda d: d.__setitem__("date", "yesterday"), None, 0, 0),
    ("total_evaluation_time_seconds=1e300 (a note)", lambda d: d.__setitem__("total_evaluation_time_seconds", 1e300),
     None, 0, 0),
    ("a samples line with doc_id 1e400", None,
     lambda r: r.__setitem__("doc_id", 1e400 if r["doc_id"] == 0 else 1), 2, 2),
    ("per-document values of ±1.7e308 (a note)", None,
     lambda r: r.__setitem__("flip_rate", 1.7e308 if r["doc_id"] % 2 else -1.7e308), 0, 1),
    ("an aggregate of 1e308 beside its samples (a note)",
     lambda d: d["results"]["cf_flip"].__setitem__("flip_rate,none", 1e308), None, 0, 0),
    ("every doc_hash changed (gate refuses; board n/c)", None, lambda r: r.__setitem__("doc_hash", "x"), 0, 2),
    ("task_hashes changed (gate refuses; board n/c)", lambda d: d.__setitem__("task_hashes", {"cf_flip": "u"}),
     None, 0, 2),
    ("a task name of 300 characters (a note)",
     lambda d: d["results"].__setitem__("t" * 300, {"flip_rate,none": 0.5}), None, 0, 0),
]


def leaderboard(tmp: Path, env: dict[str, str]) -> None:
    """Issue 39: each hostile results file through ``leaderboard build`` and ``gate``: one line or a note."""
    for i, (case, results, samples, build_exit, gate_exit) in enumerate(LEADERBOARD_CASES):
        fp, q = write_pair(tmp / f"lb{i}")
        if results:
            _edit(q, results)
        if samples:
            _samples(q, samples)
        code, said = run(["leaderboard", "build", str(tmp / f"lb{i}"), "-o", str(tmp / f"site{i}"),
                          "--bootstrap_iters", "100"], tmp, env)
        line(code, build_exit, f"leaderboard build: {case}", said)
        code, said = run(["gate", "--baseline", str(fp), "--candidate", str(q), "--max-drop", "flip_rate=1"], tmp, env)
        line(code, gate_exit, f"gate: {case}", said)
    fp, q = write_pair(tmp / "skip")
    _edit(q, _qx("bits", [4]))
    code, said = run(["leaderboard", "build", str(tmp / "skip"), "-o", str(tmp / "site-skip"), "--skip-invalid"],
                     tmp, env)
    line(code, 0, "leaderboard build --skip-invalid with one bad run", said)


def trust(tmp: Path, env: dict[str, str]) -> None:
    """Issue 39: a pickle planted in the resume store runs no code; dtype= names its choices; $QXBENCH_HOME
    holds a run's log."""
    import pickle
    import sqlite3

    cache = tmp / "trust" / "cache"
    args = ["lm_eval", *EVAL[1:], "--use_cache", str(cache)]
    code, said = run(args, tmp, env)
    line(code, 0, "a run with --use_cache (answers kept for resume)", said)
    marker = tmp / "trust" / "PWNED"

    class Planted:
        def __reduce__(self):
            return (Path.touch, (marker,))

    stores = sorted((tmp / "trust").glob("*.qxprobes.db"))
    for store in stores:
        with sqlite3.connect(store) as db:
            db.execute("UPDATE answers SET value = ?", (pickle.dumps(Planted()),))
    code, said = run(args, tmp, env)
    line(code, 0, f"a pickle planted in {len(stores)} answer store(s), run again: no code runs",
         f"marker file created: {marker.exists()}; {said}")
    code, said = run(["lm_eval", *EVAL[1:], "--model_args", "dtype=nonsense"], tmp, env)
    line(code, 2, "lm_eval --model_args dtype=nonsense", said)
    home = tmp / "trust" / "home"
    code, said = run(EVAL, tmp, {**env, "QXBENCH_HOME": str(home)})
    logs = sorted(p.name for p in (home / "logs").glob("*.log")) if (home / "logs").is_dir() else []
    line(code, 0, "a run without --output_path under QXBENCH_HOME=DIR: its log in DIR/logs",
         f"{len(logs)} log(s) in $QXBENCH_HOME/logs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("section", nargs="?", choices=("leaderboard", "trust"),
                        help="run only this section (default: every case, several minutes)")
    only = parser.parse_args().section
    tmp = Path(tempfile.mkdtemp(prefix="qx-bad-input-"))
    env = {**os.environ, "QXBENCH_CACHE": str(tmp / "cache"), "QX_VERBOSE": "", "COLUMNS": "200"}
    env.pop("QXBENCH_LOG", None)
    f = files(tmp)
    start = time.time()
    print(f"# benchmarks/checks/bad_input.py, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} CPUs; commands run in a scratch directory")
    if only:
        (leaderboard if only == "leaderboard" else trust)(tmp, env)
        print(f"# {time.time() - start:.0f} s in all")
        shutil.rmtree(tmp, ignore_errors=True)
        return

    # -- lost or overwritten work ----------------------------------------------------------------
    sweep = ["sweep", "--quants", "none,rtn:bits=8,rtn:group_size=8", "--tasks", "memorize", "--limit", "1",
             "--output_path", str(tmp / "runs")]
    code, said = run(sweep, tmp, env)
    folders = sorted(p.name for p in (tmp / "runs").iterdir() if (p / "qx_sweep.json").is_file())
    line(code, 0, "sweep none,rtn:bits=8,rtn:group_size=8: one folder per config", f"folders {folders}")
    code, said = run(sweep, tmp, env)
    line(code, 0, "the same sweep again: every config skipped, none redone", said)
    code, said = run(["sweep", "--quants", "rtn:bits=8,rtn:bits=8", "--output_path", str(tmp / "r2")], tmp, env)
    line(code, 2, "sweep with a config given twice", said)
    code, said = run([*EVAL, "--output_path", str(f["a_file"])], tmp, env)
    line(code, 2, "eval --output_path FILE (before the model loads)", said)
    code, said = run(["lm_eval", *EVAL[1:], "--output_path", str(f["a_file"])], tmp, env)
    line(code, 2, "lm_eval --output_path FILE", said)
    code, said = run(["sweep", "--quants", "none", "--tasks", "memorize", "--output_path", str(f["a_file"])], tmp, env)
    line(code, 2, "sweep --output_path FILE (before any config runs)", said)
    code, said = run(["sweep", "--quants", "none", "--tasks", "memorize", "--output_path", str(tmp / "r3"),
                      "--site", str(f["a_file"] / "site")], tmp, env)
    line(code, 2, "sweep --site under a file (before any config runs)", said)
    fp = next((tmp / "runs" / "fp").rglob("results_*.json"), tmp / "runs" / "fp" / "missing.json")
    code, said = run(["gate", "--baseline", str(fp), "--candidate", str(fp), "--max-drop", "recall=0"], tmp, env)
    line(code, 2, "gate --baseline X --candidate X", said)
    code, said = run(["gate", "--baseline", str(fp), "--candidate", str(fp), "--max-drop", "recall=0",
                      "--allow-same-run"], tmp, env)
    line(code, 0, "gate X X --allow-same-run", said)
    line(0 if f["a_file"].read_text() == "last week's results\n" else 1, 0, "the file named as an output is intact",
         str(f["a_file"]))

    # -- tracebacks instead of one line ----------------------------------------------------------
    for tool in ("qxbench", "lm_eval"):
        prefix = ["lm_eval", *EVAL[1:]] if tool == "lm_eval" else EVAL
        for flags in (["--limit", "0"], ["--limit", "-1"], ["--batch_size", "0"], ["--metadata", "notjson{"]):
            code, said = run([*prefix, *flags], tmp, env)
            line(code, 2, f"{tool} {' '.join(flags)}", said)
    data_cases = [
        ("cf_flip_sst2", "data_path", "empty.csv"), ("cf_flip_sst2", "data_path", "binary.csv"),
        ("cf_flip_sst2", "data_path", "truncated.jsonl"), ("cf_flip_sst2", "data_path", "string_label.jsonl"),
        ("cf_flip_sst2", "data_path", "float_label.csv"), ("nle_sim_ecqa", "data_path", "ecqa.csv"),
        ("memorize_lre", "lre_path", "empty.json"), ("memorize_lre", "lre_path", "binary.json"),
        ("memorize_lre", "lre_path", "truncated.json"), ("multihop_lre", "data_path", "empty.csv"),
        ("calib_msingh_boolq", "data_path", "ragged.csv"),
    ]
    for task, option, name in data_cases:
        code, said = run(["eval", "--model", "qx", "--tasks", task, "--device", "cpu", "--limit", "1",
                          "--metadata", json.dumps({option: str(f[name])})], tmp, env)
        line(code, 2, f"{task} {option}={name}", said)
    for out in (f["a_file"], f["a_file"] / "site", Path("/proc/qx-site")):
        code, said = run(["leaderboard", "build", str(tmp / "runs"), "-o", str(out)], tmp, env)
        line(code, 2, f"leaderboard build -o {out.relative_to(tmp) if out.is_relative_to(tmp) else out}", said)
    code, said = run(["study", "make", str(tmp / "runs"), "-o", str(f["a_file"] / "study")], tmp, env)
    line(code, 2, "study make -o under a file", said)
    broken = tmp / "broken-model"
    shutil.copytree(ROOT / "qxbench" / "models" / "qx-tiny", broken)
    config = json.loads((broken / "config.json").read_text())
    config["intermediate_size"] *= 2
    (broken / "config.json").write_text(json.dumps(config))
    code, said = run([*EVAL[:2], "qx", "--model_args", f"pretrained={broken}", *EVAL[3:]], tmp, env)
    line(code, 2, "a model directory whose weights do not fit its config", said)
    code, said = run([*EVAL, "--model_args", "bitz=4"], tmp, env)
    line(code, 2, "an unknown --model_args key", said)

    # -- a newcomer's first ten minutes ----------------------------------------------------------
    for args in (["info", "qx-tiny"], ["quantize", "qx-tiny", "--model_args", "quant=rtn,bits=8"]):
        done = subprocess.run([str(BIN / "qxbench"), *args], cwd=tmp, env=env, capture_output=True, text=True)
        warned = [w for w in ("model kwarg is not of type", "already-initialized model") if w in done.stderr]
        loading = [x for x in done.stderr.splitlines() if x.startswith("qxbench: loading")]
        line(done.returncode, 0, f"qxbench {args[0]}: lm-eval warnings on the terminal: {len(warned)}",
             loading[0] if loading else "no loading line")
    logs = []
    for _ in range(2):
        done = subprocess.run([str(BIN / "qxbench"), *EVAL], cwd=tmp, env=env, capture_output=True, text=True)
        logs += [x.split("-> ")[1].split(" ")[0] for x in done.stderr.splitlines() if "library warnings" in x]
    line(0 if len(set(logs)) == 2 else 1, 0, "two runs without --output_path: two log files", ", ".join(logs))
    done = subprocess.run([str(BIN / "qxbench"), *EVAL, "--output_path", str(tmp / "first"), "--log_samples"],
                          cwd=tmp, env=env, capture_output=True, text=True)
    told = [x for x in done.stderr.splitlines() if x.startswith(("qxbench: results", "qxbench: samples"))]
    line(done.returncode, 0, "a run with --output_path says where results and samples went", " / ".join(told))
    done = subprocess.run([str(BIN / "qxbench"), "world", "--help"], capture_output=True, text=True)
    text = " ".join(done.stdout.split())
    said = text[text.find("train the embedded"):].split(")")[0] + ")"
    line(done.returncode, 0, "qxbench world --help: the time train claims", said)
    leaderboard(tmp, env)
    trust(tmp, env)
    print(f"# {time.time() - start:.0f} s in all")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
