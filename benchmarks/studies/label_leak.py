"""How much of the committed cf_flip runs' flip rate is label leaks (cf_flip 3.1's rule).

cf_flip 3.1 counts a rewrite that names a label its input does not name ("Sports", 'The review is
"positive" instead of "negative"') as no flip (``lm_eval_tasks/cf_flip/utils.py``, ``leaks_label``).
The committed runs scored by 3.0 (``benchmarks/studies/explain_real.py``'s, and SmolLM2's six-probe runs on
the embedded world's reviews) are found by the version in their results files. This script
re-applies 3.1's metric functions to their logged results (each sample's logged ``Counterfactual`` and document:
the rule reads only the rewrite, the input and the labels, so no model runs) and writes, per config
and variant, the logged 3.0 flip rates beside the 3.1 ones and the label-leak rate. First it checks
that 3.1's functions give every logged 3.0 metric back wherever nothing leaked (to 1e-5: the
sentence embeddings of ``cosine`` are recomputed in float32). It is a measurement
of the rule's effect, not a substitute for rerunning the benchmark at 3.1.

The explanation runs it read (``benchmarks/results/label_leak.json``) were since replaced by the
3.1 rerun of ``benchmarks/studies/explain_real.py`` (commit 587a15d); to read them again, ``git worktree add
/tmp/b8 b8696b9`` and pass ``--runs /tmp/b8/benchmarks/results/runs``.

    python -m benchmarks.studies.label_leak [--runs benchmarks/results/runs] [--out benchmarks/results/label_leak.json]

It needs cf_flip 3.1's code (``leaks_label``, the 3.x ``Counterfactual``), removed in 4.0 (protocol 4:
``rewrite_leak`` is its broader successor). On later code it says in one line (exit 2) how to run it at
a249d11, the last revision at cf_flip 3.1, in a worktree of its own (it reads that revision's committed
runs and writes its JSON there; the script was ``benchmarks/label_leak.py`` then):

    git worktree add /tmp/v31 a249d11 && cd /tmp/v31 && PYTHONPATH=/tmp/v31 python benchmarks/label_leak.py
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import platform
import sys
from pathlib import Path

REVISION = "a249d11"  # the last revision at cf_flip 3.1
AT_REVISION = (f"git worktree add /tmp/v31 {REVISION} && cd /tmp/v31 && PYTHONPATH=/tmp/v31 python "
               "benchmarks/label_leak.py")  # its path at that revision

try:
    from lm_eval_tasks.cf_flip.utils import leaks_label, process_results  # noqa: F401 (3.1's rule)
except ImportError:  # cf_flip 4.0 removed the rule and the 3.x Counterfactual fields it rescores
    sys.stderr.write(f"label_leak.py re-scores cf_flip 3.0 runs by 3.1's leaks_label, removed in cf_flip 4.0; "
                     f"run it at {REVISION} (cf_flip 3.1): {AT_REVISION}\n")
    raise SystemExit(2) from None
from qxbench.probes.selfexplain import Counterfactual  # noqa: E402
from qxbench.study.samples import parse_response  # noqa: E402

RATES = ("flip_rate", "flip_rate_ref", "target_rate")


def config_of(path: Path, runs: Path) -> str:
    """``smollm2-135m/explain/gptq-4b/...`` -> ``smollm2-135m/explain/gptq-4b``; the random floor's
    folder (``smollm2-135m-random/explain/<model>/...``) -> ``smollm2-135m/explain/random-init``."""
    parts = path.relative_to(runs).parts
    if parts[0].endswith("-random"):
        return f"{parts[0].removesuffix('-random')}/{parts[1]}/random-init"
    return "/".join(parts[:3])


def version_of(samples: Path, task: str) -> str:
    """The task version lm-eval recorded in the results file written with ``samples``."""
    stamp = samples.name.split(f"samples_{task}_", 1)[1].split(".jsonl")[0]
    return str(json.loads((samples.parent / f"results_{stamp}.json").read_text())["versions"][task])


def rescore(path: Path) -> dict[str, float | int]:
    rows = [json.loads(line) for line in gzip.open(path, "rt")]
    totals = {f"{m}_3.0": 0.0 for m in RATES} | {m: 0.0 for m in RATES} | {"label_leak_rate": 0.0}
    for row in rows:
        cf = Counterfactual(**parse_response(row["resps"][0][0]))
        new = process_results(row["doc"], [cf])
        if not new["label_leak_rate"]:  # nothing leaked: 3.1 must give 3.0's logged values back
            for metric, value in new.items():
                old = row.get(metric)
                if old is not None and not (math.isnan(value) and math.isnan(old)):
                    same = math.isclose(value, old, rel_tol=1e-5, abs_tol=1e-6)
                    assert same, (path.name, row["doc_id"], metric, value, old)
        for metric in RATES:
            totals[f"{metric}_3.0"] += row.get(metric, math.nan)
            totals[metric] += new.get(metric, math.nan)
        totals["label_leak_rate"] += new["label_leak_rate"]
    # a rate the run did not log (flip_rate_ref with reference=none) is null
    return {"n": len(rows), **{k: None if math.isnan(v) else round(v / len(rows), 4) for k, v in totals.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("benchmarks/results/runs"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/label_leak.json"))
    args = parser.parse_args()
    table: dict[str, dict[str, dict]] = {}
    for path in sorted(args.runs.glob("**/samples_cf_flip*_20*.jsonl.gz")):
        task = path.name.removeprefix("samples_").split("_20")[0]
        if version_of(path, task) == "3.0":  # runs made since 3.1 apply the rule themselves
            table.setdefault(config_of(path, args.runs), {})[task] = rescore(path)
    out = {"command": "python -m benchmarks.studies.label_leak",
           "machine": f"{platform.machine()}, {platform.system()}",
           "rule": "lm_eval_tasks/cf_flip/utils.py leaks_label (cf_flip 3.1)", "configs": table}
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    for config, tasks in table.items():
        for task, row in tasks.items():
            print(f"{config:36} {task:18} n={row['n']} leak {row['label_leak_rate']}  flip {row['flip_rate_3.0']}"
                  f" -> {row['flip_rate']}  flip_ref {row['flip_rate_ref_3.0']} -> {row['flip_rate_ref']}")


if __name__ == "__main__":
    main()
