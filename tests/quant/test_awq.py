"""AWQ through gptqmodel on CPU: the packed AutoAWQ GEMM checkpoint is what is evaluated."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from qxbench.errors import QxError
from qxbench.quant import QuantRequest, get_quantizer

# quantizes the embedded model (seconds to a minute): outside the fast tier
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("gptqmodel") is None, reason="gptqmodel not installed")]


@pytest.fixture(scope="module")
def awq(cache_dir, tmp_path_factory):
    from qxbench.lmeval.adapter import QXLM

    cwd = tmp_path_factory.mktemp("cwd")
    mp = pytest.MonkeyPatch()
    mp.chdir(cwd)
    try:
        lm = QXLM(quant="awq", calib_samples=32, device="cpu")
    finally:
        mp.undo()
    assert list(cwd.iterdir()) == [], "quantizing must not write into the working directory"
    return lm


def test_awq_checkpoint_is_packed_gemm_and_recorded(awq):
    info = awq.qx
    assert info.summary.quantized_linear_layers == 28
    assert info.bits == 4
    assert info.group_size == 128
    # gptqmodel quantizes in bfloat16; the packed checkpoint computes in the dtype asked for (float32 by default)
    assert info.cache_hit is False
    assert info.summary.dtype == "float32"
    assert info.dtype == "float32"
    assert list((Path(info.cache_path) / "gptqmodel_logs").glob("*.log"))
    qc = json.loads((Path(info.cache_path) / "config.json").read_text())["quantization_config"]
    assert qc["quant_method"] == "awq"
    assert qc["version"] == "gemm"
    assert qc["zero_point"] is True


def test_awq_answers_and_differs_from_full_precision(awq):
    from lm_eval.api.instance import Instance

    from qxbench.lmeval.adapter import QXLM

    req = [Instance("loglikelihood", {}, ("Review: I stayed in Rikia. The tea was warm.\nSentiment:", " positive"), 0)]
    (q_ll, _), (fp_ll, _) = awq.loglikelihood(req)[0], QXLM(device="cpu").loglikelihood(req)[0]
    assert q_ll != fp_ll
    assert abs(q_ll - fp_ll) < 1.0


def test_awq_files_load_as_prequantized(awq, tmp_path):
    from qxbench.lmeval.adapter import QXLM

    shutil.copytree(awq.qx.cache_path, tmp_path / "awq")
    lm = QXLM(pretrained=str(tmp_path / "awq"), quant="prequantized", device="cpu")
    assert lm.qx.summary.quantized_linear_layers == 28
    assert lm.qx.bits == 4


def test_awq_is_four_bit_only():
    with pytest.raises(QxError, match=r"'awq' does not support bits=8\. Supported: 4"):
        get_quantizer(QuantRequest("awq", bits=8))
