"""Write lm-eval results files (and per-sample logs) of made-up qx runs, in lm-eval's layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

HIB = {"cf_flip": {"flip_rate": True, "minimality": False}, "multihop": {"entrec_max": True, "cnst": True},
       "calib": {"ace": False}, "calib_piqa": {"ace": False}}


def write_run(directory: Path, *, model: str = "qx-tiny", quant: str = "none", bits: int | None = None,
              per_doc: dict[str, dict[str, list[float]]], stamp: str = "2026-11-23T10-00-00.000000",
              version: float = 1.0, limit: float | None = None, samples: bool = True,
              curves: dict[str, list[list[float]]] | None = None, stderr_na: bool = False,
              start: float | None = None, duration: float | None = None, doc_ids: list[int] | None = None) -> Path:
    """``per_doc[task][metric]`` lists one value per document; the results hold their means. The run
    starts at ``start`` (default: the stamp's time of day, in seconds) and, with ``duration``, logs
    lm-eval's ``total_evaluation_time_seconds``; ``doc_ids`` names the documents (default 0..n-1)."""
    directory.mkdir(parents=True, exist_ok=True)
    results, n_samples = {}, {}
    for task, metrics in per_doc.items():
        n = len(next(iter(metrics.values())))
        entry = {"alias": task}
        for metric, values in metrics.items():
            entry[f"{metric},none"] = sum(values) / len(values)
            entry[f"{metric}_stderr,none"] = "N/A" if stderr_na else 0.01
        results[task] = entry
        n_samples[task] = {"original": n, "effective": n}
        if samples:
            with (directory / f"samples_{task}_{stamp}.jsonl").open("w") as f:
                for doc in range(n):
                    resp = {"entrec": curves[task][doc]} if curves and task in curves else {}
                    row = {"doc_id": doc_ids[doc] if doc_ids else doc, "metrics": list(metrics),
                           "filtered_resps": [json.dumps(resp)],
                           **{m: v[doc] for m, v in metrics.items()}}
                    f.write(json.dumps(row) + "\n")
    data = {
        "results": results, "versions": {t: version for t in per_doc}, "n-samples": n_samples,
        "higher_is_better": {t: {m: HIB.get(t, {}).get(m, True) for m in ms} for t, ms in per_doc.items()},
        "config": {"model": "qx", "limit": limit,
                   "qx": {"model": model, "quant": quant, "bits": bits, "group_size": None}},
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
              stamp="2026-11-23T10-15-00.000000")
    return root
