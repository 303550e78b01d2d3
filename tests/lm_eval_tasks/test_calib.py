"""calib: calibration metrics on hand-computed cases, the adapters, an end-to-end run."""

from __future__ import annotations

import math

import datasets
import pytest

from lm_eval_tasks.calib.utils import ace, boolq_docs, brier, ece, hellaswag_docs, piqa_docs, process_results
from qxbench.errors import QxError
from qxbench.probes.requests import NextToken

from .conftest import evaluate


def test_ece_on_a_hand_made_case():
    # bin [0.9, 1.0]: acc .5, conf .95 -> .45 x 2/4;  bin [0.6, 0.7): acc 1, conf .65 -> .35 x 2/4
    items = [(0.95, 1.0), (0.95, 0.0), (0.65, 1.0), (0.65, 1.0)]
    assert ece(items) == pytest.approx(0.5 * 0.45 + 0.5 * 0.35)
    assert ece([(1.0, 1.0)]) == 0.0  # confidence 1.0 falls in the last bin
    assert math.isnan(ece([]))


def test_ace_uses_equal_count_bins_and_an_unweighted_mean():
    items = [(0.1 * i, float(i % 2)) for i in range(1, 11)]  # ten documents, ten bins of one
    expected = sum(abs(k - c) for c, k in items) / 10
    assert ace(items) == pytest.approx(expected)
    # two documents, ten bins: only two bins are non-empty, each weighs the same
    assert ace([(0.2, 1.0), (0.9, 1.0)]) == pytest.approx((0.8 + 0.1) / 2)
    assert math.isnan(ace([]))


def test_brier_and_per_document_results():
    assert brier(0.8, True) == pytest.approx(0.04) and brier(0.8, False) == pytest.approx(0.64)
    out = process_results({}, [NextToken(top_token=5, confidence=0.75, gold_token=5)])
    assert out == {"acc": 1.0, "ace": (0.75, 1.0), "ece": (0.75, 1.0), "brier": 0.0625, "confidence": 0.75}


def test_real_data_adapters_on_local_stand_ins():
    boolq = boolq_docs(datasets.Dataset.from_list([{"question": "is it", "passage": "It is.", "answer": True}]))
    assert boolq[0] == {"prompt": "It is.\nQuestion: is it?\nAnswer:", "answer": "yes"}
    piqa = piqa_docs(datasets.Dataset.from_list([{"goal": "Open a jar", "sol1": "twist", "sol2": "bite", "label": 0}]))
    assert piqa[0] == {"prompt": "Question: Open a jar\nA. twist\nB. bite\nAnswer:", "answer": "A"}
    rows = [{"ctx": "He sat", "endings": ["down", "up", "in", "out"], "label": "2"},
            {"ctx": "x", "endings": ["a", "b", "c", "d"], "label": ""}]  # the test split has no labels
    hs = hellaswag_docs(datasets.Dataset.from_list(rows))
    assert len(hs) == 1 and hs[0]["answer"] == "C" and hs[0]["prompt"].endswith("D. out\nAnswer:")
    with pytest.raises(QxError, match="'google/boolq' is missing required field 'passage'"):
        boolq_docs(datasets.Dataset.from_list([{"question": "q", "answer": True}]))


def test_end_to_end_on_the_embedded_world(qx_lm):
    res = evaluate(qx_lm, ["calib"], limit=8)["results"]["calib"]
    assert res["acc,none"] == 1.0 and 0.9 < res["confidence,none"] <= 1.0
    assert 0 <= res["ace,none"] < 0.1 and 0 <= res["ece,none"] < 0.1
