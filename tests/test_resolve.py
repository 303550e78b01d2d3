import pytest

from qxbench.errors import QxError
from qxbench.models import EMBEDDED_MODEL_DIR
from qxbench.resolve import resolve_pretrained


def test_embedded_name_resolves_to_packaged_dir():
    assert resolve_pretrained("qx-tiny") == str(EMBEDDED_MODEL_DIR)


def test_local_model_dir(tmp_path):
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (tmp_path / name).write_text("{}")
    assert resolve_pretrained(str(tmp_path)) == str(tmp_path)


def test_local_dir_without_config_is_rejected(tmp_path):
    with pytest.raises(QxError, match="no config.json"):
        resolve_pretrained(str(tmp_path))


@pytest.mark.parametrize("name", ["/no/such/model", "./missing", "~/nope", "bad name with spaces"])
def test_missing_path_names_value_and_options(name):
    with pytest.raises(QxError) as exc:
        resolve_pretrained(name)
    assert f"'{name}'" in str(exc.value)
    assert "qx-tiny" in str(exc.value)


@pytest.mark.parametrize("name", ["gpt2", "EleutherAI/pythia-70m", "org/model-v1.5"])
def test_hub_ids_pass_through(name):
    assert resolve_pretrained(name) == name


def test_a_directory_with_only_config_json_is_one_line(tmp_path, embedded_path):
    import shutil

    from qxbench.errors import QxError
    from qxbench.resolve import resolve_pretrained

    shutil.copy(f"{embedded_path}/config.json", tmp_path / "config.json")
    with pytest.raises(QxError, match=r"has a config.json but no weights \(\*\.safetensors"):
        resolve_pretrained(str(tmp_path))
    shutil.copy(f"{embedded_path}/model.safetensors", tmp_path / "model.safetensors")
    with pytest.raises(QxError, match="has no tokenizer"):
        resolve_pretrained(str(tmp_path))
    shutil.copy(f"{embedded_path}/tokenizer.json", tmp_path / "tokenizer.json")
    assert resolve_pretrained(str(tmp_path)) == str(tmp_path)


def test_an_unreachable_hub_id_under_a_quantizer_is_one_line(monkeypatch):
    from qxbench.errors import QxError
    from qxbench.lmeval.adapter import QXLM

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(QxError, match=r"^Could not load model 'qxbench-test/no-such-model': "):
        QXLM(pretrained="qxbench-test/no-such-model", quant="bnb-nf4", device="cpu")
