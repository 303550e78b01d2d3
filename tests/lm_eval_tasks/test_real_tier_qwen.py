"""The real-model tier on Qwen2.5-Coder-0.5B-Instruct in bfloat16 (the studies' own family): every probe on
../shared/data through its chat template, and one probe per quantizer library (marker ``real``; skipped, with
the reason, where the model's parts or ../shared are absent). Its own file, so that two test workers share
the real tier."""

from __future__ import annotations

import importlib.util
import math

import pytest

from tests.conftest import shared_path

from .conftest import evaluate
from .conftest import values as _values

pytestmark = pytest.mark.real
@pytest.fixture(scope="module")
def qwen_lm(qwen05_dir):
    from qxbench.lmeval.adapter import QXLM

    return QXLM(pretrained="qwen2.5-coder-0.5b", device="cpu", batch_size=8, reference="none", dtype="bfloat16")


@pytest.fixture(scope="module")
def qwen_multihop(qwen_lm, chains) -> dict[str, float]:
    return _values(evaluate(qwen_lm, ["multihop_lre"], limit=2, metadata={"data_path": chains}), "multihop_lre")


def test_qwen_records_its_awq_baseline_and_bfloat16(qwen_lm):
    assert qwen_lm.qx.provenance["awq_baseline"] is True
    assert qwen_lm.qx.dtype == "bfloat16"
    assert "AWQ 4-bit checkpoint" in qwen_lm.qx.provenance["full_precision"]


def test_qwen_probes_on_real_data(qwen_lm, qwen_multihop):
    metadata = {"lre_path": str(shared_path("data", "lre", "factual")), "lre_relations": "country_capital_city"}
    v = _values(evaluate(qwen_lm, ["memorize_lre"], limit=2, metadata=metadata), "memorize_lre")
    # "The capital city of United States is" -> "Washington D.C.", of Canada -> "known as ..." (gold third)
    assert v["recall"] >= 0.5
    assert v["gold_rank"] < 5
    assert v["ffn_imp"] > 0
    assert all(math.isfinite(qwen_multihop[m]) for m in ("entrec_max", "cnst", "acc_r1", "acc_twohop"))
    metadata = {"data_path": str(shared_path("data", "msingh")), "layers": "last", "ig_steps": 4}
    out = evaluate(qwen_lm, ["calib_msingh_boolq_choices", "neurons_msingh_boolq"], limit=2, metadata=metadata)
    calib, neurons = _values(out, "calib_msingh_boolq_choices"), _values(out, "neurons_msingh_boolq")
    assert 0.5 <= calib["confidence"] <= 1
    assert math.isfinite(calib["ace"])
    assert neurons["salient_union"] > 0
    assert 0 <= neurons["dead_fraction"] < 1


def test_qwen_rewrites_and_explains_through_its_chat_template(qwen_lm):
    sst2 = str(shared_path("data", "explain", "sst2_validation.jsonl"))
    out = evaluate(qwen_lm, ["cf_flip_sst2"], limit=2, apply_chat_template=True, metadata={"data_path": sst2})
    cf = _values(out, "cf_flip_sst2")
    assert cf["rewrite_empty"] == 0
    assert cf["acc"] == 1
    # cf_flip 4.0: closeness over the valid flips only (NaN where there is none)
    assert 0 < cf["minimality"] < 1 and math.isfinite(cf["ppl"]) if cf["n_valid_flips"] else math.isnan(cf["ppl"])
    out = evaluate(qwen_lm, ["nle_sim"], limit=2, apply_chat_template=True)
    assert _values(out, "nle_sim")["expl_empty"] == 0
    assert _values(out, "nle_sim")["cosine"] > 0.2


# One backend per library. llm-compressor's GPTQ takes 261 s on the 0.5B here (its RTN runs the same pipeline
# in 16 s); gptqmodel's AWQ far longer (408 s on the 135M): too slow for this tier; both run on qwen2 through
# `python -m benchmarks.studies.real_model --model qwen2.5-coder-0.5b --configs ...` (not yet committed for the 0.5B).
QWEN_FAMILIES = {
    "bitsandbytes": ("quant=bnb-nf4", "bitsandbytes"),
    "llm-compressor rtn": ("quant=rtn,bits=4", "llmcompressor"),
    "torchao": ("quant=torchao-int8", "torchao"),
}


@pytest.mark.parametrize("family", list(QWEN_FAMILIES))
def test_each_quantizer_family_runs_a_probe_on_qwen_in_bfloat16(family, qwen_multihop, chains, tmp_path, monkeypatch):
    args, module = QWEN_FAMILIES[family]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install 'qxbench[all]')")
    monkeypatch.setenv("QXBENCH_CACHE", str(tmp_path))
    from qxbench.lmeval.adapter import QXLM

    csv = shared_path("data", "msingh", "piqa.csv")
    lm = QXLM(pretrained="qwen2.5-coder-0.5b", device="cpu", batch_size=8, reference="none", dtype="bfloat16",
              **dict(kv.split("=", 1) for kv in args.format(csv=csv).split(",")))
    assert lm.qx.summary.quantized_linear_layers > 0
    assert lm.qx.dtype == "bfloat16"
    quant = _values(evaluate(lm, ["multihop_lre"], limit=2, metadata={"data_path": chains}), "multihop_lre")
    assert math.isfinite(quant["entrec_max"])
    assert math.isfinite(quant["cnst"])
    assert quant["entrec_max"] != qwen_multihop["entrec_max"]  # the quantized weights are really in use
