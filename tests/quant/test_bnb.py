"""bitsandbytes backends on CPU: really quantized, recorded, and 8-bit closer to full precision than 4-bit."""

from __future__ import annotations

import importlib.util

import pytest
from lm_eval.api.instance import Instance

from qxbench.errors import QxError
from qxbench.quant import Loaded, QuantRequest, get_quantizer
from qxbench.world.data import read_rows

from .conftest import linear_share

pytestmark = pytest.mark.skipif(importlib.util.find_spec("bitsandbytes") is None, reason="bitsandbytes not installed")

QUANTIZED_LINEARS = 4 * 7  # every q,k,v,o,gate,up,down of the 4 layers; lm_head stays full precision


def _loglikelihoods(lm) -> list[float]:
    args = [(r["prompt"], " " + r["object"]) for r in read_rows("facts")[::4]]
    args += [(f"Review: {r['text']}\nSentiment:", " positive") for r in read_rows("reviews")[:20]]
    return [ll for ll, _ in lm.loglikelihood([Instance("loglikelihood", {}, a, 0) for a in args])]


@pytest.fixture(scope="module")
def runs():
    from qxbench.lmeval.adapter import QXLM

    return {q: QXLM(quant=q, device="cpu", batch_size=16) for q in ("none", "bnb-int8", "bnb-nf4", "bnb-fp4")}


@pytest.mark.parametrize("quant", ["bnb-int8", "bnb-nf4", "bnb-fp4"])
def test_backend_really_quantizes_and_records_it(runs, quant):
    info = runs[quant].get_model_info()["qx"]
    fp = runs["none"].qx.summary
    assert info["quant"] == quant
    assert info["quantize_seconds"] > 0
    assert info["summary"]["quantized_linear_layers"] == QUANTIZED_LINEARS
    limit = 0.3 if quant == "bnb-int8" else 0.16  # int8: 1/4 of float32 plus scales; 4-bit: 1/8 plus absmax
    assert info["summary"]["weight_bytes"] < fp.weight_bytes
    assert linear_share(runs[quant], runs["none"]) < limit


def test_eight_bit_stays_closer_to_full_precision_than_four_bit(runs):
    fp = _loglikelihoods(runs["none"])
    drift = {q: sum(abs(a - b) for a, b in zip(_loglikelihoods(runs[q]), fp, strict=True)) / len(fp)
             for q in ("bnb-int8", "bnb-nf4", "bnb-fp4")}
    assert 0 < drift["bnb-int8"] < drift["bnb-nf4"] and drift["bnb-int8"] < drift["bnb-fp4"], drift


def test_unsupported_bits_and_group_size_are_refused():
    from qxbench.lmeval.adapter import QXLM

    with pytest.raises(QxError, match=r"'bnb-nf4' does not support bits=8\. Supported: 4"):
        get_quantizer(QuantRequest("bnb-nf4", bits=8))
    with pytest.raises(QxError, match="has no group_size"):
        QXLM(quant="bnb-int8", group_size=128, device="cpu")


def test_a_backend_that_returns_an_unquantized_model_is_refused(monkeypatch):
    """No silent fallback: a load that yields plain float layers must raise, not evaluate full precision."""
    from transformers import AutoModelForCausalLM

    from qxbench.lmeval.adapter import QXLM
    from qxbench.quant.bnb import BitsAndBytes

    def load_full_precision(self, path, request, **kwargs):
        return Loaded(AutoModelForCausalLM.from_pretrained(path))

    monkeypatch.setattr(BitsAndBytes, "load", load_full_precision)
    with pytest.raises(QxError, match="quant=bnb-int8 was requested but the loaded model has no quantized linear"):
        QXLM(quant="bnb-int8", device="cpu")


def test_lm_eval_default_device_falls_back_like_hflm():
    """lm-eval's CLI passes device='cuda:0' by default; on a CPU-only machine HFLM then uses the CPU."""
    import torch

    from qxbench.lmeval.adapter import _device

    if torch.cuda.device_count() == 0:
        assert _device("cuda:0") == "cpu"
        assert _device(None) == "cpu"
        with pytest.raises(QxError, match="device 'cuda' was requested"):
            _device("cuda")
    assert _device("cpu") == "cpu"


def test_each_4bit_backend_applies_its_own_data_type(runs):
    for quant, expected in (("bnb-nf4", "nf4"), ("bnb-fp4", "fp4")):
        weight = runs[quant].model.model.layers[0].mlp.down_proj.weight
        assert weight.quant_state.quant_type == expected
    assert _loglikelihoods(runs["bnb-nf4"]) != _loglikelihoods(runs["bnb-fp4"])


def test_int8_s_float16_cast_is_stated_once_and_its_repeats_dropped(runs, capsys, caplog):
    """bitsandbytes warns on every int8 matmul that it casts the input to float16 (thousands of lines per run);
    qxbench says it once, at load, and a forward pass adds no such line to the log."""
    import logging

    from qxbench.quant.bnb import INT8_CAST, INT8_LOGGER, state_int8_cast

    state_int8_cast("bfloat16")
    state_int8_cast("bfloat16")  # the filter is added once, whatever the number of loads
    line = capsys.readouterr().err
    assert "float16 copy" in line, line
    assert "computes in bfloat16" in line, line
    assert sum(type(f).__name__ == "CastStatedOnce" for f in logging.getLogger(INT8_LOGGER).filters) == 1
    with caplog.at_level(logging.WARNING, logger=INT8_LOGGER):
        _loglikelihoods(runs["bnb-int8"])
    assert not [r for r in caplog.records if INT8_CAST in r.getMessage()], "the per-matmul warning came through"
