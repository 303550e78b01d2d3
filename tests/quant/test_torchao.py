from __future__ import annotations

import importlib.util

import pytest

from qxbench.errors import QxError

from .conftest import linear_share

pytestmark = pytest.mark.skipif(importlib.util.find_spec("torchao") is None, reason="torchao not installed")


@pytest.fixture(scope="module")
def runs():
    from qxbench.lmeval.adapter import QXLM

    return {q: QXLM(quant=q, device="cpu") for q in ("none", "torchao-int8", "torchao-int4")}


def test_weights_are_torchao_tensors_with_real_storage_bytes(runs):
    for quant in ("torchao-int8", "torchao-int4"):  # int4 values are stored unpacked, one per int8
        s = runs[quant].qx.summary
        assert s.quantized_linear_layers == 28 and linear_share(runs[quant], runs["none"]) < 0.3, (quant, s)
    assert runs["torchao-int4"].qx.group_size == 128
    assert runs["torchao-int8"].qx.group_size is None


def test_int8_closer_to_full_precision_than_int4(runs):
    import torch

    ids = torch.tensor([[5, 6, 7, 8, 9, 10, 11, 12]])
    with torch.no_grad():
        fp, i8, i4 = (runs[q].model(ids).logits for q in ("none", "torchao-int8", "torchao-int4"))
    assert 0 < (i8 - fp).abs().max() < (i4 - fp).abs().max()


def test_int8_takes_no_group_size():
    from qxbench.lmeval.adapter import QXLM

    with pytest.raises(QxError, match="per channel and takes no group_size"):
        QXLM(quant="torchao-int8", group_size=64, device="cpu")

