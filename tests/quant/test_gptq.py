"""GPTQ through llm-compressor on CPU: real packed weights, cached, 8-bit closer to fp than 4-bit."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from lm_eval.api.instance import Instance

from qxbench.errors import QxError
from qxbench.quant import QuantRequest, get_quantizer
from qxbench.quant.cache import entries, weights_sha256
from qxbench.world.data import read_rows

from .conftest import linear_share

# quantizes the embedded model (seconds to a minute): outside the fast tier
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("llmcompressor") is None, reason="llm-compressor missing")]


@pytest.fixture(scope="module")
def runs(cache_dir):
    from qxbench.lmeval.adapter import QXLM

    return {name: QXLM(device="cpu", batch_size=16, **kw) for name, kw in {
        "fp": {}, "w4": {"quant": "gptq", "bits": 4, "calib_samples": 32},
        "w8": {"quant": "gptq", "bits": 8, "calib_samples": 32},
    }.items()}


def _lls(lm) -> list[float]:
    args = [(r["prompt"], " " + r["object"]) for r in read_rows("facts")[::4]]
    args += [(f"Review: {r['text']}\nSentiment:", " negative") for r in read_rows("reviews")[:20]]
    return [ll for ll, _ in lm.loglikelihood([Instance("loglikelihood", {}, a, 0) for a in args])]


def test_packed_weights_are_what_is_evaluated(runs):
    for name, bits in (("w4", 4), ("w8", 8)):
        info = runs[name].qx
        assert info.summary.quantized_linear_layers == 28
        assert info.cache_hit is False
        assert info.calibration == {"source": "world", "samples": 32, "split": "train", "column": "text"}
        assert info.bits == bits
    w4, w8 = (linear_share(runs[k], runs["fp"]) for k in ("w4", "w8"))
    assert w4 < 0.16 < w8 < 0.3  # packed 4-bit: 1/8 of float32 plus scales; 8-bit: 1/4 plus scales


def test_four_and_eight_bit_differ_and_eight_is_closer(runs):
    fp, w4, w8 = (_lls(runs[k]) for k in ("fp", "w4", "w8"))
    d4 = sum(abs(a - b) for a, b in zip(w4, fp, strict=True))
    d8 = sum(abs(a - b) for a, b in zip(w8, fp, strict=True))
    assert w4 != w8
    assert 0 < d8 < d4


def test_second_load_hits_the_cache(runs, cache_dir):
    from qxbench.lmeval.adapter import QXLM

    again = QXLM(quant="gptq", bits=4, calib_samples=32, device="cpu")
    assert again.qx.cache_hit is True
    assert again.qx.cache_path == runs["w4"].qx.cache_path
    assert again.qx.quantize_seconds < runs["w4"].qx.quantize_seconds
    spec = json.loads((cache_dir / again.qx.cache_path.split("/")[-1] / "qx_cache.json").read_text())
    assert spec["bits"] == 4
    assert spec["group_size"] == 128
    assert spec["backend"] == "gptq"
    # what was evaluated: the entry's weights, the same on a hit, other for 8 bits
    assert again.qx.quantized_sha256 == runs["w4"].qx.quantized_sha256 == weights_sha256(Path(again.qx.cache_path))
    assert runs["w8"].qx.quantized_sha256 not in (None, again.qx.quantized_sha256)
    assert runs["fp"].qx.quantized_sha256 is None


def test_bad_group_size_raises_and_writes_nothing(cache_dir, runs):
    from qxbench.lmeval.adapter import QXLM

    before = {e.key for e in entries()}
    with pytest.raises(QxError, match=r"group_size=100 does not divide in_features=256 of 'model.layers.0"):
        QXLM(quant="gptq", bits=4, group_size=100, calib_samples=4, device="cpu")
    assert {e.key for e in entries()} == before
    assert not [p for p in cache_dir.iterdir() if p.name.startswith(".staging")]


def test_unsupported_bits():
    with pytest.raises(QxError, match=r"'gptq' does not support bits=3\. Supported: 4, 8"):
        get_quantizer(QuantRequest("gptq", bits=3))


def test_defaults_are_recorded_as_applied(runs):
    assert runs["w4"].qx.group_size == 128
    assert runs["w4"].get_model_info()["qx"]["group_size"] == 128


def test_the_same_config_gives_the_same_weights_whatever_the_global_rng(tmp_path):
    # llm-compressor shuffles calibration texts with torch's global RNG unless told not to
    import torch
    from safetensors.torch import load_file

    from qxbench.quant._llmcompressor import quantize_to
    from qxbench.quant.calibration import Calibration
    from qxbench.resolve import resolve_pretrained

    for seed in (0, 1):
        torch.manual_seed(seed)
        quantize_to("GPTQModifier", resolve_pretrained("qx-tiny"), tmp_path / str(seed), 4, 128,
                    Calibration(samples=16))
    a, b = (load_file(tmp_path / str(seed) / "model.safetensors") for seed in (0, 1))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
