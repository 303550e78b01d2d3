"""The CUDA paths of the backends. Skipped without a GPU; run them where one is lent:
``python -m pytest -m gpu``."""

from __future__ import annotations

import importlib.util

import pytest

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


@pytest.mark.parametrize(
    ("quant", "module"),
    [("bnb-int8", "bitsandbytes"), ("bnb-nf4", "bitsandbytes"), ("gptq", "llmcompressor"), ("rtn", "llmcompressor"),
     ("awq", "gptqmodel"), ("torchao-int8", "torchao")],
)
def test_backend_quantizes_and_runs_on_cuda(quant, module, tmp_path, monkeypatch):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} not installed")
    monkeypatch.setenv("QXBENCH_CACHE", str(tmp_path))
    from lm_eval.api.instance import Instance

    from qxbench.lmeval.adapter import QXLM

    lm = QXLM(quant=quant, device="cuda", calib_samples=16)
    assert lm.qx.summary.quantized_linear_layers == 28
    assert next(lm.model.parameters()).device.type == "cuda"
    ((ll, _),) = lm.loglikelihood([Instance("loglikelihood", {}, ("The capital of", " the"), 0)])
    assert ll < 0
