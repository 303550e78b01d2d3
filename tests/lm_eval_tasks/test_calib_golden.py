"""calib against the reference's own outputs (../shared/golden/calib.json: MSingh-CSE/LLM-Quantization-Effects
``src/0_softmax.py`` and ``analysis_and_viz/ace.py`` run on SmolLM2-135M-Instruct, 30 BoolQ + 30 PIQA rows)."""

from __future__ import annotations

import pytest

from lm_eval_tasks.calib.metrics import ace
from tests.conftest import golden, shared_path

from .conftest import evaluate

TOL = 1e-4  # ../shared/golden/README.md: scores at |d| < 1e-4, token ids exactly


def test_ace_edge_cases_exactly():
    cases = golden("calib")["ace_edge_cases"]
    assert len(cases) == 5
    for name, case in cases.items():
        assert ace([(c, float(k)) for c, k in case["pairs"]]) == case["ace"], name


def test_ace_of_the_golden_confidences():
    """The reference's ACE from its own per-document (confidence, correct), without the model."""
    g = golden("calib")
    docs = {ds: [(d["confidence"], float(d["correct"])) for d in g["docs"] if d["dataset"] == ds]
            for ds in ("boolq", "piqa")}
    assert ace(docs["boolq"]) == pytest.approx(g["ace"]["boolq"]["ace"], abs=1e-12)
    assert ace(docs["piqa"]) == pytest.approx(g["ace"]["piqa"]["ace"], abs=1e-12)
    assert ace(docs["boolq"] + docs["piqa"]) == pytest.approx(g["ace"]["all_60"]["ace"], abs=1e-12)


@pytest.fixture(scope="module")
def smollm2_run(smollm2_dir):
    """calib_msingh_boolq and calib_msingh_piqa on smollm2-135m, first 30 rows each, as lm-eval runs them."""
    from qxbench.lmeval.adapter import QXLM

    lm = QXLM(pretrained="smollm2-135m", device="cpu", batch_size=16)
    data = shared_path("data", "msingh")
    return evaluate(lm, ["calib_msingh_boolq", "calib_msingh_piqa"], limit=30, metadata={"data_path": str(data)},
                    log_samples=True)


@pytest.mark.real
def test_smollm2_reproduces_the_reference_per_document(smollm2_run):
    g = golden("calib")
    for ds in ("boolq", "piqa"):
        expected = [d for d in g["docs"] if d["dataset"] == ds]
        samples = smollm2_run["samples"][f"calib_msingh_{ds}"]
        assert len(samples) == len(expected) == 30
        for s, d in zip(samples, expected, strict=True):
            r = s["resps"][0][0]
            assert s["doc"]["prompt"] == d["prompt"]
            assert s["doc"]["answer"] == d["gold"]
            assert (r.token, r.prediction, r.correct) == (d["greedy_token_id"], d["greedy_token_text"], d["correct"])
            assert abs(r.confidence - d["confidence"]) < TOL, (ds, d["row"])


@pytest.mark.real
def test_smollm2_reproduces_the_reference_ace(smollm2_run):
    g = golden("calib")
    items = {}
    for ds in ("boolq", "piqa"):
        res = smollm2_run["results"][f"calib_msingh_{ds}"]
        assert abs(res["ace,none"] - g["ace"][ds]["ace"]) < TOL
        assert res["acc,none"] == pytest.approx(sum(d["correct"] for d in g["docs"] if d["dataset"] == ds) / 30)
        items[ds] = [(s["resps"][0][0].confidence, float(s["resps"][0][0].correct))
                     for s in smollm2_run["samples"][f"calib_msingh_{ds}"]]
    assert abs(ace(items["boolq"] + items["piqa"]) - g["ace"]["all_60"]["ace"]) < TOL
    meta = smollm2_run["configs"]["calib_msingh_boolq"]["metadata"]
    assert (meta["mode"], meta["match"], meta["softmax_dtype"]) == ("free", "substring", "model")
