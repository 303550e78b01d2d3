"""cf_flip and nle_sim on their real data files (../shared/data/explain) with SmolLM2-135M-Instruct
through the chat template, a few documents per variant (marker ``real``; skipped, with the reason,
where the model's package or ../shared is absent). What is checked is that each variant reads its
own file, keeps the fixed part of a two-part input, and yields defined metrics on a real LLM."""

from __future__ import annotations

import json
import math

import pytest

from qxbench.probes.logged import read_result
from tests.conftest import shared_path

from .conftest import evaluate

pytestmark = pytest.mark.real

FILES = {"cf_flip_sst2": "sst2_validation.jsonl", "cf_flip_ag_news": "ag_news_test.jsonl",
         "cf_flip_esnli": "esnli_test.jsonl", "cf_flip_healthfc": "healthfc.csv",
         "nle_sim_esnli": "esnli_test.jsonl", "nle_sim_ecqa": "ecqa_validation.csv",
         "nle_sim_healthfc": "healthfc.csv"}


@pytest.fixture(scope="module")
def fp_lm(smollm2_dir):
    from qxbench.lmeval.adapter import QXLM

    return QXLM(pretrained="smollm2-135m", device="cpu", batch_size=8)


def _run(lm, task: str, limit: int = 2, **metadata) -> dict:
    data = str(shared_path("data", "explain", FILES[task]))
    return evaluate(lm, [task], limit=limit, metadata={"data_path": data, **metadata}, log_samples=True,
                    apply_chat_template=True)


@pytest.mark.parametrize("task", [t for t in FILES if t.startswith("cf_flip")])
def test_counterfactual_variants_run_on_their_files(fp_lm, task):
    out = _run(fp_lm, task)
    res = out["results"][task]
    assert res["rewrite_empty,none"] < 1
    assert res["agree_fp,none"] == 1  # full precision agrees with itself
    if res["n_valid_flips,none"]:  # cf_flip 4.0: closeness over the valid flips only (NaN where there is none)
        assert 0 <= res["minimality,none"] <= 1
        assert math.isfinite(res["ppl,none"])
        assert res["ppl_ratio,none"] > 0
    else:
        assert math.isnan(res["minimality,none"])
        assert math.isnan(res["ppl,none"])
    assert res["flip_rate_ref,none"] == res["flip_rate,none"]  # full precision judges itself
    assert out["configs"][task]["metadata"]["prompts"] == "instruct-1"
    for sample in out["samples"][task]:
        doc, prompt = sample["doc"], sample["arguments"][0][0]
        assert doc["text"]
        assert doc["text"] in prompt
        if doc["context"]:  # two-part inputs: the fixed part is in the prompt, the rewrite is of the edited part
            assert f"{doc['context_name']}: {doc['context']}" in prompt
            cf = sample["resps"][0][0]  # in process the result itself (4.0 logs the prompts too)
            assert read_result(str(cf)).rewrite == cf.rewrite  # and its logged text reads back
            assert doc["context"] not in cf.rewrite
            assert doc["context"] in cf.rewrite_prompt


@pytest.mark.parametrize("task", [t for t in FILES if t.startswith("nle_sim")])
def test_explanation_variants_run_on_their_files(fp_lm, task):
    res = _run(fp_lm, task)["results"][task]
    assert res["expl_empty,none"] < 1
    assert res["bertscore_minilm_f1,none"] > 0.2
    assert res["cosine,none"] > 0
    assert 0 < res["insertions_n,none"] <= 2 * 6  # at most 3 words x 2 places (nouns, verbs) per document
    assert res["insert_flipped_n,none"] >= res["unfaithful_n,none"] >= 0


def test_esnli_rewrite_is_reclassified_with_its_premise_by_the_full_precision_judge(fp_lm):
    lines = shared_path("data", "explain", FILES["cf_flip_esnli"]).read_text().splitlines()
    rows = [json.loads(line) for line in lines[:30]]
    by_premise = {}
    for row in rows:  # 4.1: one hypothesis per premise, so the first two documents are two premises
        by_premise.setdefault(row["premise"], []).append(row)
    out = _run(fp_lm, "cf_flip_esnli")
    assert [s["doc"]["context"] for s in out["samples"]["cf_flip_esnli"]] == list(by_premise)[:2]
    rows = [next(r for r in by_premise[s["doc"]["context"]] if r["hypothesis"] == s["doc"]["text"])
            for s in out["samples"]["cf_flip_esnli"]]
    for row, sample in zip(rows, out["samples"]["cf_flip_esnli"], strict=True):
        assert sample["doc"]["context"] == row["premise"]
        assert sample["doc"]["text"] == row["hypothesis"]
