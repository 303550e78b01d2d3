"""Join two runs of the same model and tasks on disjoint documents into the one run they make together.

A long evaluation can be run in parts: ``--limit 100`` first, the documents 100..199 later (``qxbench sweep
--docs 100:200``, lm-eval's ``--samples``), each part a complete lm-eval run with its results and samples. The
joined run is what one run of both parts' documents reports: every task's samples in document order, its
aggregates and standard errors recomputed from the documents' logged metrics as lm-eval computes them
(:func:`qxbench.lmeval.rescore.aggregate`, the task YAML's aggregation functions), ``n-samples`` and
``task_hashes`` as lm-eval writes them (``lm_eval/loggers/evaluation_tracker.py``: the hash of the samples'
doc, prompt and target hashes), and ``--limit N`` where the documents are the first N (so that it pairs with
a fresh ``--limit N`` run on the leaderboard). The seconds the parts spent are added up; ``qx_merged`` lists
the parts (file, git hash, documents).

Nothing is joined that one run would not have made (each refusal is one :class:`~qxbench.errors.QxError`):
other model arguments, quantization, dtype, batch size, seeds or chat settings; another task set or version;
task configurations that differ (beyond the address of a function); a document in both parts; a task whose
current YAML has another version (its aggregation may have changed: ``qxbench rescore`` first); and a part
whose recomputed aggregates are not the ones it stored (a samples file that is not the run's); parts that
evaluated other quantized weights (``config.qx.quantized_sha256``, the sha256 of a cached checkpoint: gptq, awq,
rtn, and a prequantized checkpoint's folder). A quantized part that records no such hash (older runs; bnb and
torchao quantize in memory; a prequantized checkpoint named by a Hub id) is joined with a note saying the weights
were not compared, printed and kept in ``qx_merged.weights_unchecked``.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qxbench.errors import QxError
from qxbench.lmeval.rescore import aggregate, same, task_config, write_lines
from qxbench.quant.cache import SHA256

# config.qx entries that vary between runs of one configuration (time, cache, process count)
VOLATILE_QX = ("quantize_seconds", "cache_path", "cache_hit", "probe_seconds", "phase_seconds", "processes",
               "onednn_cache", "quantized_sha256")  # the last compared on its own (weights_note)
# top-level entries that must be equal: what a run of both parts' documents would have had once
SAME_TOP = ("versions", "system_instruction", "chat_template_sha", "fewshot_as_multiturn", "model_name")
SAME_CONFIG = ("model", "model_args", "model_dtype", "batch_size", "device", "bootstrap_iters", "gen_kwargs",
               "random_seed", "numpy_seed", "torch_seed", "fewshot_seed")


@dataclass(frozen=True)
class Merged:
    """The joined run: its results file and, per task, the documents of each part."""

    results: Path
    docs: dict[str, tuple[int, int]]  # task -> (documents from the first part, from the second)
    limit: int | None
    note: str | None = None  # what could not be checked (weights_note)


def load(path: Path) -> tuple[Path, dict[str, Any]]:
    """A results file, or the one ``results_*.json`` under a folder, and its JSON."""
    if path.is_dir():
        found = sorted(path.rglob("results_*.json"))
        if len(found) != 1:
            raise QxError(f"'{path}' holds {len(found)} results_*.json files: name one (merge joins two runs)")
        path = found[0]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        dict(data["versions"]), dict(data["results"]), dict(data["configs"]), dict(data["config"])
        for task in data["versions"]:
            dict(data["results"][task]), dict(data["configs"][task]), dict(data["n-samples"][task])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise QxError(f"'{path}' is not an lm-eval results file ({type(err).__name__}: {err})") from None
    return path, data


def _identity(data: dict[str, Any]) -> dict[str, Any]:
    config = data["config"]
    qx = {k: v for k, v in (config.get("qx") or {}).items() if k not in VOLATILE_QX}
    return {**{k: data.get(k) for k in SAME_TOP}, **{f"config.{k}": config.get(k) for k in SAME_CONFIG}, "qx": qx}


def weights_note(a: dict[str, Any], b: dict[str, Any], names: tuple[str, str] = ("first", "second")) -> str | None:
    """Refuse two parts that evaluated other quantized weights (``config.qx.quantized_sha256``, recorded for the
    cached backends, gptq, awq, rtn, and a prequantized folder's safetensors); say so when a quantized part records
    no hash (a run before it was recorded, a backend that quantizes in memory from the same full-precision
    weights: bnb, torchao; a prequantized Hub id or .bin checkpoint). ``names``: the two results files, for errors."""
    qa, qb = (d["config"].get("qx") or {} for d in (a, b))
    ha, hb = qa.get("quantized_sha256"), qb.get("quantized_sha256")
    for name, h in zip(names, (ha, hb), strict=True):
        if h is not None and not (isinstance(h, str) and SHA256.fullmatch(h)):
            raise QxError(f"{name}: config.qx.quantized_sha256 is {h!r}: not a sha256 (64 lower-case hex digits)")
    if ha and hb and ha != hb:
        raise QxError(f"the runs evaluated other quantized weights (config.qx.quantized_sha256 {ha[:12]}... vs "
                      f"{hb[:12]}...): not parts of one run; run both parts from one quantized-model cache entry "
                      "or one checkpoint folder")
    if qa.get("quant", "none") == "none" or (ha and hb):
        return None
    missing = [n for n, h in (("the first", ha), ("the second", hb)) if not h]
    which = " and ".join(missing) + (" parts record" if len(missing) == 2 else " part records")
    return (f"{which} no hash of the quantized weights (config.qx.quantized_sha256): "
            "that both parts evaluated the same weights was not checked")


def _task_identity(config: dict[str, Any]) -> str:
    """A task's stored configuration, function addresses dropped, metric_list in name order (a rescored run
    appends the metrics its step added) and ``metadata.config_source`` dropped (the path the YAML was read from:
    another checkout of the same tasks, a worktree or another machine, has another)."""
    listed = sorted(config.get("metric_list") or [], key=lambda m: str(m.get("metric")))
    metadata = {k: v for k, v in (config.get("metadata") or {}).items() if k != "config_source"}
    text = json.dumps({**config, "metric_list": listed, "metadata": metadata}, sort_keys=True, default=str)
    return re.sub(r" at 0x[0-9a-f]+>", ">", text)


def check_same_run(a: dict[str, Any], b: dict[str, Any], yamls: dict[str, dict[str, Any]]) -> None:
    """One line naming what differs, if the two are not parts of one run (``yamls``: each task's current YAML)."""
    ida, idb = _identity(a), _identity(b)
    for key in ida:
        if ida[key] != idb[key]:
            what = key if key != "qx" else "config.qx." + next(k for k in {*ida["qx"], *idb["qx"]}
                                                              if ida["qx"].get(k) != idb["qx"].get(k))
            raise QxError(f"the runs differ in {what}: not parts of one run")
    for task in a["versions"]:
        if _task_identity(a["configs"][task]) != _task_identity(b["configs"][task]):
            raise QxError(f"{task}: the runs' task configurations differ: not parts of one run")
        yaml_version = (yamls[task].get("metadata") or {}).get("version")
        if yaml_version is not None and not same(float(yaml_version), float(a["versions"][task])):
            raise QxError(f"{task}: the runs are version {a['versions'][task]}, qxbench's task is {yaml_version}: "
                          "`qxbench rescore` them first (or rerun)")


def _rows(results: Path, task: str) -> list[dict[str, Any]]:
    from qxbench.run_report import samples_lines

    found = samples_lines(results, task)
    if found is None:
        raise QxError(f"{results}: task {task} has no samples file: a run is joined from its samples "
                      "(--log_samples)")
    file, lines = found
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            ok = isinstance(row["doc_id"], int) and isinstance(row["metrics"], list) and all(
                isinstance(row[k], str) for k in ("doc_hash", "prompt_hash", "target_hash"))
        except (ValueError, KeyError, TypeError) as err:
            raise QxError(f"{file}:{number}: not an lm-eval sample ({type(err).__name__}: {err})") from None
        if not ok:
            raise QxError(f"{file}:{number}: not an lm-eval sample (doc_id, metrics or a hash of the wrong type)")
        rows.append(row)
    return rows


def _per_doc(rows: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    try:
        return [{m: row[m] for m in row["metrics"]} for row in rows]
    except (KeyError, TypeError) as err:
        raise QxError(f"{where}: a sample lacks its metrics ({type(err).__name__}: {err})") from None


def _checked_aggregates(config: dict, rows: list[dict], stored: dict, iters: int, where: str) -> None:
    """The part's aggregates recomputed from its samples must be the ones it stored."""
    fresh = aggregate(config, _per_doc(rows, where), iters)
    off = sorted(k.split(",")[0] for k, v in fresh.items() if k in stored and not same(stored[k], v))
    if off:
        raise QxError(f"{where}: the samples do not give the stored {', '.join(off)}: not this run's samples")


def _task_hash(rows: list[dict[str, Any]]) -> str:
    from lm_eval.utils import hash_string

    return hash_string("".join(r["doc_hash"] + r["prompt_hash"] + r["target_hash"] for r in rows))


def _add_seconds(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, float]:
    out = dict(a or {})
    for key, value in (b or {}).items():
        out[key] = round(out.get(key, 0.0) + value, 3)
    return out


def _part(path: Path, data: dict[str, Any], docs: dict[str, list[int]]) -> dict[str, Any]:
    return {"results": path.name, "git_hash": data.get("git_hash"), "date": data.get("date"),
            "docs": {t: [min(d), max(d), len(d)] for t, d in docs.items()}}


def merge(first: Path, second: Path, out: Path) -> Merged:
    """``first`` and ``second`` (results files or their folders) joined into ``out/<model>/`` (which must not hold
    results yet), as the module says."""
    first, a = load(first)
    second, b = load(second)
    if set(a["versions"]) != set(b["versions"]):
        raise QxError(f"the runs have other tasks ({', '.join(sorted(a['versions']))} vs "
                      f"{', '.join(sorted(b['versions']))}): not parts of one run")
    yamls = {task: task_config(task) for task in a["versions"]}
    check_same_run(a, b, yamls)
    note = weights_note(a, b, (first.name, second.name))
    target = out / first.parent.name
    if any(target.glob("results_*.json")):
        raise QxError(f"'{target}' already holds results: merge writes into a folder of its own")
    joined, stamp = copy.deepcopy(a), second.stem.removeprefix("results_")
    iters = int(a["config"].get("bootstrap_iters", 100000))
    files, docs, ids, ida, idb = [], {}, {}, {}, {}
    for task in sorted(a["versions"]):
        config = yamls[task]
        ra, rb = _rows(first, task), _rows(second, task)
        _checked_aggregates(config, ra, a["results"][task], iters, f"{first.name}: {task}")
        _checked_aggregates(config, rb, b["results"][task], iters, f"{second.name}: {task}")
        both = {r["doc_id"] for r in ra} & {r["doc_id"] for r in rb}
        hashes = {r.get("doc_hash") for r in ra} & {r.get("doc_hash") for r in rb} - {None}
        if both or hashes:
            raise QxError(f"{task}: {len(both) or len(hashes)} document(s) are in both runs "
                          f"(doc_id {sorted(both)[:5] or '?'}): the parts must not overlap")
        rows = sorted(ra + rb, key=lambda r: r["doc_id"])
        ids[task] = [r["doc_id"] for r in rows]
        ida[task], idb[task] = [r["doc_id"] for r in ra], [r["doc_id"] for r in rb]
        docs[task] = (len(ra), len(rb))
        joined["results"][task].update(aggregate(config, _per_doc(rows, task), iters))
        joined["results"][task]["sample_len"] = len(rows)
        joined["n-samples"][task]["effective"] = len(rows)
        joined.setdefault("task_hashes", {})[task] = _task_hash(rows)
        files.append((target / f"samples_{task}_{stamp}.jsonl.gz", [json.dumps(r, ensure_ascii=False) for r in rows]))
    limit = len(next(iter(ids.values())))
    limit = limit if all(v == list(range(limit)) for v in ids.values()) else None
    qx = joined["config"].get("qx") or {}
    if not b["config"]["qx"].get("quantized_sha256"):  # the joined run's weights are known only if both parts'
        qx.pop("quantized_sha256", None)
    for key in ("probe_seconds", "phase_seconds"):
        if key in qx:
            qx[key] = _add_seconds(qx.get(key), b["config"]["qx"].get(key))
    joined["config"]["limit"] = float(limit) if limit is not None else None
    joined["total_evaluation_time_seconds"] = str(float(a.get("total_evaluation_time_seconds") or 0)
                                                  + float(b.get("total_evaluation_time_seconds") or 0))
    joined["qx_rescored"] = a.get("qx_rescored", []) + b.get("qx_rescored", [])
    if not joined["qx_rescored"]:
        del joined["qx_rescored"]
    merged_a, merged_b = (a.get("qx_merged") or {}), (b.get("qx_merged") or {})  # either may be a joined run
    parts = [*(merged_a.get("parts") or [_part(first, a, ida)]), *(merged_b.get("parts") or [_part(second, b, idb)])]
    joined["qx_merged"] = {"by": "qxbench.lmeval.merge", "parts": parts}
    unchecked = [n for n in (merged_a.get("weights_unchecked"), merged_b.get("weights_unchecked"), note) if n]
    if unchecked:  # kept in the file: a joined run without quantized_sha256 says why
        joined["qx_merged"]["weights_unchecked"] = "; ".join(unchecked)
    target.mkdir(parents=True, exist_ok=True)
    for path, lines in files:
        write_lines(path, lines)
    results = target / f"results_{stamp}.json"
    results.write_text(json.dumps(joined, indent=2, ensure_ascii=False), encoding="utf-8")
    return Merged(results, docs, limit, note)
