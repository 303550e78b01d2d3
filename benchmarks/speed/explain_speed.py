"""Benchmark: seconds per document of the explainability probes (cf_flip, nle_sim) on SmolLM2-135M-Instruct
(its "full precision" = the GGUF Q4_1 weights dequantized to float32; ``--model`` for the Qwen2.5-Coder
models) over the real data in ../shared/data/explain, through the chat template, batch 16, and each
document's answer.

    python -m benchmarks.speed.explain_speed --limit 16 --label before --out benchmarks/results/explain_speed.json
        [--tasks cf_flip_sst2,nle_sim_esnli] [--metadata '{"prompts": "v1"}'] [--model_args quant=rtn,bits=4]

``--model_args`` are added to ``pretrained=smollm2-135m``: a quantized config also runs the
full-precision reference's passes (cf_flip's ``ppl_ref`` and ``flip_rate_ref``).

Each task runs in its own lm-eval call; the seconds are the probe's own (``config.qx.probe_seconds``:
model load excluded). The answers (``resps``) and per-document metrics are recorded, so that a speed
change can be checked to leave every output identical (``--compare LABEL``: the largest metric
difference and the number of differing answers against an earlier label of the same file).
Results are merged into ``--out`` under ``--label``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

from benchmarks.common import REPO, number, run

SHARED = Path(os.environ.get("QXBENCH_SHARED") or REPO.parent / "shared")
EXPLAIN = SHARED / "data" / "explain"
FILES = {"sst2": "sst2_validation.jsonl", "ag_news": "ag_news_test.jsonl", "esnli": "esnli_test.jsonl",
         "ecqa": "ecqa_validation.csv", "healthfc": "healthfc.csv"}
TASKS = "cf_flip_sst2,cf_flip_esnli,nle_sim_esnli,nle_sim_ecqa"


def data_file(task: str) -> str:
    return str(EXPLAIN / FILES[task.split("_", 2)[-1] if not task.endswith("ag_news") else "ag_news"])


MODELS = {"smollm2-135m": "SmolLM2-135M-Instruct; full precision = GGUF Q4_1 dequantized",
          "qwen2.5-coder-0.5b": "Qwen2.5-Coder-0.5B-Instruct; full precision = GGUF Q4_K_M (from Qwen's AWQ 4-bit "
                                "checkpoint) dequantized",
          "qwen2.5-coder-1.5b": "Qwen2.5-Coder-1.5B-Instruct; full precision = GGUF Q4_K_M dequantized"}


def run_task(task: str, limit: int, batch: int, extra: dict, model_args: str = "",
             model: str = "smollm2-135m") -> dict:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    metadata = {"data_path": data_file(task), **extra}
    out = simple_evaluate(model="qx", model_args=",".join(filter(None, [f"pretrained={model}", model_args])),
                          tasks=[task], device="cpu",
                          batch_size=batch, limit=limit, log_samples=True, apply_chat_template=True,
                          task_manager=TaskManager(include_defaults=False, metadata=metadata))
    seconds = sum(out["config"]["qx"]["probe_seconds"].values())
    samples = out["samples"][task]
    return {"probe_seconds": round(seconds, 2), "seconds_per_doc": round(seconds / len(samples), 3),
            "docs": len(samples), "metadata": {k: v for k, v in extra.items()},
            "phase_seconds": out["config"]["qx"].get("phase_seconds") or {},
            "results": {k: v for k, v in out["results"][task].items() if k != "alias"},
            "answers": {s["doc_id"]: str(s["resps"][0][0]) for s in samples},
            "per_doc": {s["doc_id"]: {k: number(s[k]) for k in s["metrics"]} for s in samples}}


def _fields(answer: str, where: str) -> dict:
    """A logged answer's fields as plain values (:func:`qxbench.probes.logged.read_logged`)."""
    from qxbench.probes.logged import plain, read_logged

    return plain(read_logged(answer, where))


def compare(now: dict, then: dict) -> dict:
    """Per task shared by both: answers whose common fields differ (a newer result type may log more
    fields: those are not compared), the largest difference of a metric both have, the speed-up."""
    out = {}
    for task, current in now.items():
        if task not in then:
            continue
        old = then[task]
        answers = 0
        for d, a in current["answers"].items():
            if str(d) not in old["answers"] and d not in old["answers"]:
                continue  # that document was not run then
            new = _fields(a, f"{task} doc {d}")
            was = _fields(old["answers"].get(str(d), old["answers"].get(d)), f"{task} doc {d} (earlier label)")
            answers += any(new[k] != was[k] and new[k] == new[k] for k in set(new) & set(was))
        worst = 0.0
        for d, m in current["per_doc"].items():
            for k, v in m.items():
                w = old["per_doc"].get(str(d), old["per_doc"].get(d, {})).get(k)
                if w is not None and v == v and w == w:
                    worst = max(worst, abs(v - w))
        out[task] = {"differing_answers": answers, "max_metric_difference": worst,
                     "speedup": round(old["seconds_per_doc"] / current["seconds_per_doc"], 2)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=16)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--tasks", default=TASKS)
    parser.add_argument("--label")
    parser.add_argument("--metadata", default="{}", help="extra probe options (JSON), e.g. the prompt set")
    parser.add_argument("--model", default="smollm2-135m", choices=list(MODELS))
    parser.add_argument("--model_args", default="",
                        help="added to pretrained=MODEL, e.g. quant=rtn,bits=4,dtype=bfloat16")
    parser.add_argument("--compare", help="an earlier label in --out to compare the answers with")
    parser.add_argument("--recompare", nargs=2, metavar=("LABEL", "EARLIER"),
                        help="only recompute LABEL's comparison with EARLIER from --out (no run)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/explain_speed.json"))
    args = parser.parse_args()
    if not EXPLAIN.is_dir():
        sys.exit(f"{EXPLAIN} is absent: set QXBENCH_SHARED to the folder holding data/explain")
    from qxbench import __version__

    stored = json.loads(args.out.read_text()) if args.out.is_file() else {}
    if args.recompare:
        label, earlier = args.recompare
        stored[label]["compared_with"] = {earlier: compare(stored[label]["tasks"], stored[earlier]["tasks"])}
        print(json.dumps(stored[label]["compared_with"], indent=1))
        args.out.write_text(json.dumps(stored, indent=1, default=str))
        return
    runs = {}
    for task in args.tasks.split(","):
        runs[task] = run_task(task, args.limit, args.batch_size, json.loads(args.metadata), args.model_args, args.model)
        print(f"{args.label} {task}: {runs[task]['seconds_per_doc']} s/doc", flush=True)
    entry = {"qxbench": __version__, "python": platform.python_version(), "cpus": os.cpu_count(),
             "machine": "shared 2-core CPU (noisy: compare ratios within one file)",
             "model": f"{args.model} ({MODELS[args.model]})",
             "model_args": args.model_args, "limit": args.limit, "batch_size": args.batch_size,
             "chat_template": True, "tasks": runs}
    if args.compare:
        entry["compared_with"] = {args.compare: compare(runs, stored[args.compare]["tasks"])}
        print(json.dumps(entry["compared_with"], indent=1))
    stored[args.label] = entry
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(stored, indent=1, default=str))


if __name__ == "__main__":
    run(main)
