"""Pre-quantized checkpoints (local stand-ins of Hub formats), the RTN baseline, corrupt files."""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from qxbench.errors import QxError

needs_llmc = pytest.mark.skipif(importlib.util.find_spec("llmcompressor") is None, reason="llm-compressor missing")
needs_bnb = pytest.mark.skipif(importlib.util.find_spec("bitsandbytes") is None, reason="bitsandbytes missing")


@needs_llmc
def test_rtn_is_data_free_and_differs_from_gptq(quantized_tiny):
    rtn = quantized_tiny(quant="rtn", bits=4)
    gptq = quantized_tiny(quant="gptq", bits=4, calib_samples=16)
    assert rtn.qx.calibration is None
    assert rtn.qx.summary.quantized_linear_layers == 28
    w_rtn = rtn.model.model.layers[0].mlp.down_proj.weight_packed
    w_gptq = gptq.model.model.layers[0].mlp.down_proj.weight_packed
    assert w_rtn.shape == w_gptq.shape
    assert not bool((w_rtn == w_gptq).all())


@needs_llmc
def test_rtn_eight_bit_stays_closer_to_full_precision_than_four_bit(quantized_tiny):
    import torch

    ids = torch.tensor([[5, 6, 7, 8, 9, 10, 11, 12]])
    with torch.no_grad():
        fp, r8, r4 = (quantized_tiny(**kw).model(ids).logits for kw in
                      ({}, {"quant": "rtn", "bits": 8}, {"quant": "rtn", "bits": 4}))
    assert 0 < (r8 - fp).abs().max() < (r4 - fp).abs().max()


@needs_llmc
def test_compressed_tensors_checkpoint_loads_as_prequantized(quantized_tiny, tmp_path):
    from qxbench.lmeval.adapter import QXLM

    source = quantized_tiny(quant="rtn", bits=8)
    ckpt = tmp_path / "ct"
    shutil.copytree(source.qx.cache_path, ckpt)
    lm = QXLM(pretrained=str(ckpt), quant="prequantized", device="cpu")
    assert lm.qx.summary.quantized_linear_layers == 28
    assert lm.qx.bits == 8
    assert lm.qx.quantized_sha256 == source.qx.quantized_sha256  # the same weights, copied: merge can compare
    with pytest.raises(QxError, match=r"already quantized \(compressed-tensors\); evaluate it with quant=prequantized"):
        QXLM(pretrained=str(ckpt), device="cpu")


@needs_bnb
def test_bnb_serialized_checkpoint_loads_as_prequantized(tmp_path):
    from qxbench.lmeval.adapter import QXLM
    from qxbench.models import EMBEDDED_MODEL_DIR

    QXLM(quant="bnb-nf4", device="cpu").model.save_pretrained(tmp_path / "nf4")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(EMBEDDED_MODEL_DIR / name, tmp_path / "nf4")
    lm = QXLM(pretrained=str(tmp_path / "nf4"), quant="prequantized", device="cpu")
    assert lm.qx.summary.quantized_linear_layers == 28
    assert lm.qx.bits == 4


def test_prequantized_refuses_a_full_precision_checkpoint():
    from qxbench.lmeval.adapter import QXLM

    with pytest.raises(QxError, match=r"is not a quantized checkpoint \(no quantization_config\)"):
        QXLM(quant="prequantized", device="cpu")


@needs_llmc
def test_corrupt_checkpoint_is_one_line_and_caches_nothing(cache_dir, tmp_path):
    from qxbench.lmeval.adapter import QXLM
    from qxbench.models import EMBEDDED_MODEL_DIR
    from qxbench.quant.cache import entries

    bad = tmp_path / "corrupt"
    shutil.copytree(EMBEDDED_MODEL_DIR, bad)
    (bad / "model.safetensors").write_bytes((bad / "model.safetensors").read_bytes()[:4096])
    before = {e.key for e in entries()}
    with pytest.raises(QxError, match=r"^Could not load full-precision checkpoint '.*corrupt'") as exc:
        QXLM(pretrained=str(bad), quant="rtn", bits=4, device="cpu")
    assert "\n" not in str(exc.value)
    assert {e.key for e in entries()} == before


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("gptqmodel") is None, reason="gptqmodel not installed")
def test_gptq_format_checkpoint_loads_as_prequantized(tmp_path, monkeypatch):
    """A local stand-in for a Hub GPTQ checkpoint (`quant_method: gptq`), written by gptqmodel."""
    monkeypatch.setenv("GPTQMODEL_CPU_WORKERS", "2")
    monkeypatch.chdir(tmp_path)  # gptqmodel writes ./logs
    import torch
    from gptqmodel import GPTQConfig, GPTQModel

    from qxbench.lmeval.adapter import QXLM
    from qxbench.models import EMBEDDED_MODEL_DIR
    from qxbench.quant.calibration import Calibration, calibration_texts

    model = GPTQModel.load(str(EMBEDDED_MODEL_DIR), GPTQConfig(bits=4, group_size=128), dtype=torch.bfloat16)
    model.quantize(calibration_texts(Calibration(samples=16)), batch_size=8)
    model.save(str(tmp_path / "gptq"))
    lm = QXLM(pretrained=str(tmp_path / "gptq"), quant="prequantized", device="cpu")
    assert lm.qx.summary.quantized_linear_layers == 28
    assert lm.qx.bits == 4
