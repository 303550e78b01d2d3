"""Made-up --log_samples runs of nle_sim and cf_flip (full precision + two quantized configs), in
lm-eval's layout, with responses logged as the probes log them (the dataclass repr)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qxbench.probes.selfexplain import Counterfactual, Explanation
from tests.leaderboard.conftest import write_run

CONFIGS = (("fp", "none", None), ("nf4", "bnb-nf4", 4), ("rtn", "rtn", 4))
TEXTS = ["The soup was warm.", "The bath was dirty.", "The staff's \"smile\" was <b>rude</b>.", "The room was quiet.",
         "The tea was cold.", "The view was lovely."]


def response(task: str, config: str, doc: int) -> str:
    """What the probe returns for a document, differing per config so that unblinding can be checked."""
    if task == "nle_sim":
        return str(Explanation(doc % 2, f"{config} says: {TEXTS[doc]}", "valid", False, "awful", doc % 2, "it's fine"))
    return str(Counterfactual(doc % 2, 1 - doc % 2, f"{config} rewrite {doc}", "valid", f"{config} rewrite {doc}",
                              1 - doc % 2, float("nan"), None, float("nan")))


def write_samples(directory: Path, stamp: str, task: str, config: str, docs: list[int],
                  hashes: dict[int, str] | None = None) -> None:
    with (directory / f"samples_{task}_{stamp}.jsonl").open("w") as f:
        for doc in docs:
            row = {"doc_id": doc, "doc": {"text": TEXTS[doc], "choices": ["negative", "positive"], "label": doc % 2},
                   "doc_hash": (hashes or {}).get(doc, f"h{doc}"), "metrics": ["acc"], "acc": 1.0,
                   "filtered_resps": [response(task, config, doc)]}
            f.write(json.dumps(row) + "\n")


def write_runs(root: Path, docs: dict[str, list[int]] | None = None) -> Path:
    """``docs``: config -> the documents it logged (default: all six, every config)."""
    for i, (config, quant, bits) in enumerate(CONFIGS):
        stamp = f"2026-11-23T10-0{i}-00.000000"
        mine = (docs or {}).get(config, list(range(len(TEXTS))))
        per_doc = {t: {"acc": [1.0] * len(mine)} for t in ("nle_sim", "cf_flip")}
        write_run(root / config, quant=quant, bits=bits, per_doc=per_doc, stamp=stamp, samples=False)
        for task in per_doc:
            write_samples(root / config, stamp, task, config, mine)
    return root


@pytest.fixture()
def runs_dir(tmp_path) -> Path:
    return write_runs(tmp_path / "runs")
