"""Write lm-eval results files (and per-sample logs) of made-up qx runs, in lm-eval's layout."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from qxbench.probes.results import MultiHopResult

LOWER = {"minimality", "empty_rate", "ppl", "ace", "ece", "brier", "gold_rank", "salient_union", "dead_fraction",
         "noise"}
"""Metrics the results files say lower is better for (as display.yaml does); every other one: higher."""


def write_run(directory: Path, *, model: str = "qx-tiny", quant: str = "none", bits: int | None = None,
              group_size: int | None = None, per_doc: dict[str, dict[str, list[float]]],
              stamp: str = "2026-11-23T10-00-00.000000",
              version: float = 1.0, limit: float | None = None, samples: bool = True,
              curves: dict[str, list[list[float]]] | None = None, stderr_na: bool = False,
              start: float | None = None, duration: float | None = None, doc_ids: list[int] | None = None,
              dtype: str | None = None, hashes: bool = True) -> Path:
    """``per_doc[task][metric]`` lists one value per document; the results hold their means. The run
    starts at ``start`` (default: the stamp's time of day, in seconds) and, with ``duration``, logs
    lm-eval's ``total_evaluation_time_seconds``; ``doc_ids`` names the documents (default 0..n-1). With
    ``hashes``, samples lines carry lm-eval's ``doc_hash`` (of the document's id) and the results its
    ``task_hashes`` (of the task's name), as lm-eval writes them."""
    directory.mkdir(parents=True, exist_ok=True)
    results, n_samples = {}, {}
    for task, metrics in per_doc.items():
        n = len(next(iter(metrics.values())))
        entry = {"alias": task}
        for metric, values in metrics.items():
            defined = [v for v in values if v == v]  # NaN: not defined on that document (nanmean, as lm-eval's)
            entry[f"{metric},none"] = sum(defined) / len(defined) if defined else float("nan")
            entry[f"{metric}_stderr,none"] = "N/A" if stderr_na else 0.01
        results[task] = entry
        n_samples[task] = {"original": n, "effective": n}
        if samples:
            with (directory / f"samples_{task}_{stamp}.jsonl").open("w") as f:
                for doc in range(n):
                    resp = (str(MultiHopResult(entrec=curves[task][doc], cnst=0.0, completions={}))  # as logged
                            if curves and task in curves else "{}")
                    doc_id = doc_ids[doc] if doc_ids else doc
                    row = {"doc_id": doc_id, "metrics": list(metrics),
                           **({"doc_hash": f"doc-{doc_id}"} if hashes else {}),
                           "filtered_resps": [resp],
                           **{m: v[doc] for m, v in metrics.items()}}
                    f.write(json.dumps(row) + "\n")
    data = {
        "results": results, "versions": {t: version for t in per_doc}, "n-samples": n_samples,
        "higher_is_better": {t: {m: m not in LOWER for m in ms} for t, ms in per_doc.items()},
        "config": {"model": "qx", "limit": limit,
                   "qx": {"model": model, "quant": quant, "bits": bits, "group_size": group_size,
                          **({"dtype": dtype} if dtype else {})}},
        **({"task_hashes": {t: f"task-{t}" for t in per_doc}} if hashes else {}),
        "date": float(stamp[11:13]) * 3600 + float(stamp[14:16]) * 60 if start is None else start,
    }
    if duration is not None:
        data["total_evaluation_time_seconds"] = str(duration)  # lm-eval writes it as a string
    path = directory / f"results_{stamp}.json"
    path.write_text(json.dumps(data))
    return path


FP = {"cf_flip": {"flip_rate": [1.0, 1.0, 0.0, 1.0], "minimality": [0.1, 0.2, 0.3, 0.2]},
      "multihop": {"entrec_max": [-2.0, -3.0, -1.0, -2.0], "cnst": [-1.0, -1.0, -2.0, -1.0]}}
NF4 = {"cf_flip": {"flip_rate": [0.0, 1.0, 0.0, 0.0], "minimality": [0.1, 0.2, 0.3, 0.2]},
       "multihop": {"entrec_max": [-2.5, -3.5, -1.5, -2.5], "cnst": [-1.0, -1.5, -2.0, -1.0]}}
INT8 = {"cf_flip": {"flip_rate": [1.0, 1.0, 0.0, 1.0], "minimality": [0.1, 0.1, 0.3, 0.2]},
        "multihop": {"entrec_max": [-2.0, -3.0, -1.0, -2.1], "cnst": [-1.0, -1.0, -2.0, -1.0]}}
CURVES = {"multihop": [[-9.0, -5.0, -2.0], [-8.0, -4.0, -3.0], [-7.0, -3.0, -1.0], [-9.0, -6.0, -2.0]]}


@pytest.fixture()
def results_dir(tmp_path) -> Path:
    """Full precision, NF4 and int8 runs of one model; a second model with no full-precision run."""
    root = tmp_path / "results"
    write_run(root / "fp", per_doc=FP, curves=CURVES)
    write_run(root / "nf4", quant="bnb-nf4", bits=4, per_doc=NF4, stamp="2026-11-23T10-05-00.000000",
              curves={"multihop": [[x - 0.5 for x in c] for c in CURVES["multihop"]]})
    write_run(root / "int8", quant="bnb-int8", bits=8, per_doc=INT8, stamp="2026-11-23T10-10-00.000000",
              stderr_na=True, curves=CURVES)
    write_run(root / "other", model="<script>alert('x')</script>", quant="bnb-nf4", bits=4, per_doc=NF4,
              stamp="2026-11-23T10-15-00.000000", curves={"multihop": [[x - 1 for x in c] for c in CURVES["multihop"]]})
    return root


WIDE_MODELS = ("HuggingFaceTB/SmolLM2-135M-Instruct", "meta-llama/Llama-3.2-1B-Instruct")
WIDE_CONFIGS = (("none", None, None), ("bnb-int8", 8, None), ("bnb-nf4", 4, None), ("gptq", 4, 128), ("gptq", 3, 128))


def wide_per_doc(rng: random.Random, shift: float, n: int = 20) -> dict[str, dict[str, list[float]]]:
    """Six probes with plausible per-document values; ``shift`` > 0 degrades every metric a little."""
    def bits(p: float) -> list[float]:
        return [float(rng.random() < p) for _ in range(n)]

    def near(mu: float, sd: float) -> list[float]:
        return [rng.gauss(mu, sd) for _ in range(n)]

    return {
        "cf_flip": {"acc": bits(0.9 - shift), "flip_rate": bits(0.8 - shift), "empty_rate": bits(0.02),
                    "minimality": near(0.2 + shift, 0.05)},
        "nle_sim": {"acc": bits(0.85 - shift), "cosine": near(0.7 - shift, 0.05), "empty_rate": bits(0.02)},
        "memorize": {"recall": bits(0.6 - shift), "gold_rank": near(3 + 10 * shift, 1)},
        "multihop": {"entrec_max": near(-2 - shift, 0.3), "cnst": near(-1 - shift, 0.2)},
        "calib": {"acc": bits(0.7 - shift), "ace": near(0.1 + shift, 0.02), "brier": near(0.2 + shift, 0.03),
                  "confidence": near(0.8, 0.05)},
        "neurons": {"salient_union": near(900 + 500 * shift, 20), "dead_fraction": near(0.01 + shift, 0.001)},
    }


@pytest.fixture()
def wide_results_dir(tmp_path) -> Path:
    """2 real-looking models x 5 configs (full precision, bnb int8/nf4, GPTQ 4 and 3 bits) x 6 probes, --limit 20."""
    root = tmp_path / "wide"
    rng = random.Random(0)
    for m, model in enumerate(WIDE_MODELS):
        for c, (quant, bits, group) in enumerate(WIDE_CONFIGS):
            write_run(root / f"{m}-{c}", model=model, quant=quant, bits=bits, group_size=group, limit=20.0,
                      per_doc=wide_per_doc(rng, 0.04 * c), stamp=f"2026-11-23T1{m}-{c}0-00.000000")
    return root
