"""Rescore a committed run under a newer answer reader, from its samples alone (no model runs).

A version step that changes only how answers are read (cf_flip 4.1 -> 4.2: a refusal, "I'm sorry, but I
can't assist with that.", is ``meta``, no longer a ``valid`` rewrite; cf_flip 4.3 and nle_sim 4.2: token
soup is ``soup``; cf_flip 4.4: 'The hypothesis is "..."' is read as its quoted rewrite; cf_flip 4.5: a rewrite
that keeps no word of a 5+-word input is ``unrelated``; cf_flip 4.6: the input with a label added is ``leak``;
nle_sim 4.3: an explanation adding no word to its labels, input and task is ``restates``; nle_sim 4.4: its
contractions opened and its reporting verbs ("the evidence shows that ...") the task's; nle_sim 4.5: "imply",
"mean", "mention" a reason's words again;
:mod:`qxbench.probes.answers`) needs no new generation: each sample logs the whole
:class:`~qxbench.probes.selfexplain.Counterfactual` or :class:`~qxbench.probes.selfexplain.Explanation`, and
the task's ``process_results`` is a pure function of it and the document. So the runs already made stay
comparable with new ones, instead of being thrown away with each reader mend.

For each task at one of the old versions of its family in :data:`STEPS`: every logged answer is read again
(:func:`~qxbench.probes.answers.read_rewrite`, :func:`~qxbench.probes.answers.read_explanation`) and the task
goes straight to the current version. A rewrite that is no longer ``valid`` loses what only a valid rewrite
gets (its labels and perplexities: what a fresh run stores for it); one that would now be ``valid`` but was
not cannot be rescored (it was never classified) and stops the rescore. An explanation only changes its kind
(nle_sim scores every explanation's text; the kinds are rates beside it). Every
document's metrics are recomputed by the task's ``process_results``, the aggregates and standard errors
as lm-eval computes them (the YAML's aggregation functions; ``stderr_for_metric``), and checked: the
documents whose kind did not change must give the metrics they logged (floats within float32 rounding),
and they keep the logged values; where none changed the aggregates must equal the stored ones; otherwise
nothing is written. A metric the new version adds (cf_flip 4.3's ``rewrite_soup``) enters every document,
the aggregates, ``metric_list`` and ``higher_is_better``. The results file records each step under
``qx_rescored`` and takes the new version (``versions``, ``configs.<task>.metadata.version``).
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qxbench.errors import QxError, first_line

# reader-only version steps of a task family: (the old versions read again, the current version)
STEPS: dict[str, tuple[tuple[float, ...], float]] = {"cf_flip": ((4.1, 4.2, 4.3, 4.4, 4.5), 4.6),
                                                     "nle_sim": ((4.1, 4.2, 4.3, 4.4), 4.5)}
# what each family's current version reads differently from its old ones (``qxbench rescore --help``)
READS: dict[str, str] = {"cf_flip": "refusals are meta, token soup is soup, 'The hypothesis is \"...\"' is its "
                                    "rewrite, a rewrite with no word of a 5+-word input is unrelated, the input "
                                    "with a label added before or after it is a leak",
                         "nle_sim": "token soup is soup, an explanation with no content word but the labels', "
                                    "the input's and the task's (its reporting verbs and contractions included, not "
                                    "imply, mean, mention; where there is evidence or a premise) restates"}


@dataclass(frozen=True)
class Rescored:
    """One task of one results file: the step taken and the documents whose answer kind changed."""

    results: Path
    task: str
    old: float
    new: float
    changed: tuple[tuple[int, str, str], ...]  # (doc_id, old kind, new kind)
    metrics: dict[str, tuple[Any, Any]]  # metric -> (stored aggregate, rescored) where they differ
    added: tuple[str, ...] = ()  # metrics the new version reports that the old did not (cf_flip 4.3: rewrite_soup)


def describe(*, reads: bool = False) -> str:
    """The steps as text, from :data:`STEPS` (``cf_flip 4.1/4.2/4.3/4.4/4.5 -> 4.6, nle_sim 4.1/4.2/4.3/4.4 -> 4.5``);
    ``reads``: each followed by what it reads anew (:data:`READS`)."""
    steps = {f: f"{f} {'/'.join(map(str, olds))} -> {new}" for f, (olds, new) in STEPS.items()}
    return "; ".join(f"{text}: {READS[f]}" for f, text in steps.items()) if reads else ", ".join(steps.values())


def family(task: str) -> str | None:
    """The :data:`STEPS` family a task belongs to (``cf_flip_sst2`` -> ``cf_flip``), or None."""
    return next((f for f in STEPS if task == f or task.startswith(f + "_")), None)


def task_config(task: str) -> dict[str, Any]:
    """The task's YAML (includes merged, ``!function`` resolved) from qxbench's task folder."""
    from lm_eval.tasks._yaml_loader import load_yaml

    from qxbench._lmeval_hook import tasks_dir

    found = sorted(tasks_dir().glob(f"*/{task}.yaml"))
    if not found:
        raise QxError(f"task {task!r}: no {task}.yaml in qxbench's task folder {tasks_dir()}")
    return load_yaml(found[0])


def _samples(results: Path, task: str) -> tuple[Path, list[str]]:
    from qxbench.run_report import samples_lines

    found = samples_lines(results, task)
    if found is None:
        raise QxError(f"{results}: task {task} has no samples file (samples_{task}_<stamp>.jsonl[.gz]) to rescore from")
    return found


def write_lines(path: Path, lines: list[str]) -> None:
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if path.suffix == ".gz":  # as `gzip -n`: no name, no time stamp
        with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
            f.write(data)
    else:
        path.write_bytes(data)


def same(a: Any, b: Any) -> bool:
    """Equal; floats within float32 rounding (relative 1e-6): a float32 encoder's score (nle_sim's BERTScore)
    moves by an ulp with the number of threads it ran on (0.594725489616394 vs 0.5947254300117493)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _reread(value: Any, doc: dict[str, Any]) -> Any:
    """The logged Counterfactual or Explanation as the current reader reads its answer."""
    from qxbench.probes.answers import read_explanation, read_rewrite
    from qxbench.probes.selfexplain import Explanation

    if isinstance(value, Explanation):
        kind = read_explanation(value.explanation, doc, value.pred, capped=value.capped).kind
        return value if kind == value.kind else dataclasses.replace(value, kind=kind)
    now = read_rewrite(value.answer, doc)
    if now.kind == value.kind:
        return value
    if now.kind == "valid":
        raise QxError(f"document {doc.get('text', '')[:40]!r}: its answer is now a valid rewrite ({value.kind} "
                      "before) and was never classified: rerun the task instead of rescoring it")
    nan = math.nan
    return dataclasses.replace(value, kind=now.kind, rewrite=now.text, rewrite_pred=None, ppl=nan, input_ppl=nan,
                               ref_ppl=None if value.ref_ppl is None else nan, ref_rewrite_pred=None)


def aggregate(config: dict[str, Any], per_doc: list[dict[str, Any]], bootstrap_iters: int) -> dict[str, Any]:
    """lm-eval's aggregates (``metric,none``) and standard errors of the documents' metrics."""
    from lm_eval.api.metrics import stderr_for_metric
    from lm_eval.api.registry import get_aggregation

    out: dict[str, Any] = {}
    for entry in config["metric_list"]:
        metric, agg = entry["metric"], entry["aggregation"]
        fn = get_aggregation(agg) if isinstance(agg, str) else agg
        items = [doc[metric] for doc in per_doc if metric in doc]
        if not items:
            continue
        out[f"{metric},none"] = fn(items)
        stderr = stderr_for_metric(metric=fn, bootstrap_iters=bootstrap_iters) if bootstrap_iters > 0 else None
        out[f"{metric}_stderr,none"] = stderr(items) if stderr and len(items) > 1 else "N/A"
    return out


def _add_metrics(data: dict[str, Any], task: str, config: dict[str, Any], fresh: dict[str, Any]) -> None:
    """The metrics a step adds (cf_flip 4.3's ``rewrite_soup``) entered where a fresh run lists them: the stored
    config's ``metric_list`` and ``higher_is_better``."""
    listed = data["configs"][task].setdefault("metric_list", [])
    known = {e.get("metric") for e in listed if isinstance(e, dict)}
    better = data.setdefault("higher_is_better", {}).setdefault(task, {})
    for entry in config["metric_list"]:
        metric = entry["metric"]
        if metric in known or f"{metric},none" not in fresh:
            continue
        agg = entry["aggregation"]
        listed.append({"metric": metric, "aggregation": agg if isinstance(agg, str) else agg.__name__,
                       "higher_is_better": entry["higher_is_better"]})
        better[metric] = entry["higher_is_better"]


def _rescore_task(results: Path, data: dict[str, Any], task: str, old: float,
                  new: float) -> tuple[Rescored, Path, list[str]]:
    """The task rescored: (what changed, its samples file, the new sample lines); checks as the module says."""
    from qxbench.probes.logged import log_text, read_result

    config = task_config(task)
    process = config["process_results"]
    samples, lines = _samples(results, task)
    per_doc, changed = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            value = read_result(row["filtered_resps"][0])
            now = _reread(value, row["doc"])
            metrics = process(row["doc"], [now])
        except QxError:
            raise
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as err:  # Invalid is a ValueError
            raise QxError(f"{samples.name}:{number}: cannot rescore this line ({type(err).__name__}: "
                          f"{first_line(err)}); nothing written") from None
        if now is value:
            off = [m for m, v in metrics.items() if m in row and not same(v, row[m])]
            if off:
                raise QxError(f"{samples.name}:{number}: rescoring does not reproduce the logged {', '.join(off)} "
                              "of an unchanged answer: the task's metrics changed beyond its reader; rerun it")
            # it keeps the values it logged, to the last bit, and only gains the metrics the step adds
            metrics = {m: row.get(m, v) for m, v in metrics.items()}
        else:
            changed.append((row["doc_id"], value.kind, now.kind))
            text = log_text(now)
            row.update({"resps": [[text]], "filtered_resps": [text]})
        if now is not value or any(m not in row for m in metrics):  # a changed answer, or a metric the step adds
            row.update(metrics)
            listed = list(row.get("metrics", []))
            row["metrics"] = listed + [m for m in metrics if m not in listed]
            lines[number - 1] = json.dumps(row, ensure_ascii=False)
        per_doc.append(metrics)
    stored = data["results"].get(task) if isinstance(data.get("results"), dict) else None
    if not isinstance(stored, dict) or not isinstance(data.get("configs", {}).get(task), dict):
        raise QxError(f"{results.name}: {task} has a version but no results or configs entry; nothing written")
    fresh = aggregate(config, per_doc, int(data.get("config", {}).get("bootstrap_iters", 100000)))
    differ = {k.split(",")[0]: (stored[k], v) for k, v in fresh.items() if k in stored and not same(stored[k], v)}
    if differ and not changed:
        raise QxError(f"{results.name}: {task}: rescoring no changed answer gives other aggregates "
                      f"({', '.join(sorted(differ))}): nothing written")
    added = tuple(k.split(",")[0] for k in fresh if k not in stored and "_stderr," not in k)
    stored.update(fresh)
    _add_metrics(data, task, config, fresh)
    data["versions"][task] = new
    data["configs"][task].setdefault("metadata", {})["version"] = new
    data.setdefault("qx_rescored", []).append(
        {"task": task, "from": old, "to": new, "by": "qxbench.lmeval.rescore",
         "changed": [{"doc_id": d, "from": a, "to": b} for d, a, b in changed]})
    return Rescored(results, task, old, new, tuple(changed), differ, added), samples, lines


def rescore(results: Path, *, write: bool = True) -> list[Rescored]:
    """Every task of ``results`` (an lm-eval results JSON) at the old version of a :data:`STEPS` step, rescored
    under the current reader; written back (results and samples) unless ``write`` is False. Tasks at
    other versions are left as they are (an empty list: nothing to do)."""
    try:
        data = json.loads(results.read_text(encoding="utf-8"))
        versions = {task: float(v) for task, v in dict(data["versions"]).items()}
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise QxError(f"{results}: not an lm-eval results file ({type(err).__name__})") from None
    done, files = [], []
    for task, version in sorted(versions.items()):
        fam = family(task)
        if fam is None or not any(same(version, old) for old in STEPS[fam][0]):
            continue
        item, samples, lines = _rescore_task(results, data, task, version, STEPS[fam][1])
        done.append(item)
        if item.changed or item.added:  # a samples file with no answer changed and no metric added is left as it is
            files.append((samples, lines))
    if write and done:
        for samples, lines in files:
            write_lines(samples, lines)
        results.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return done


def results_files(paths: list[Path]) -> list[Path]:
    """``results_*.json`` files: each path itself, or those found under a folder."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(path.rglob("results_*.json"))
        elif path.is_file():
            found.append(path)
        else:
            raise QxError(f"'{path}' is neither a results file nor a folder")
    return found
