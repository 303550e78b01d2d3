import pytest

from qxbench.errors import QxError
from qxbench.models import EMBEDDED_MODEL_DIR
from qxbench.resolve import resolve_pretrained


def test_embedded_name_resolves_to_packaged_dir():
    assert resolve_pretrained("qx-tiny") == str(EMBEDDED_MODEL_DIR)


def test_local_model_dir(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert resolve_pretrained(str(tmp_path)) == str(tmp_path)


def test_local_dir_without_config_is_rejected(tmp_path):
    with pytest.raises(QxError, match="no config.json"):
        resolve_pretrained(str(tmp_path))


@pytest.mark.parametrize("name", ["/no/such/model", "./missing", "~/nope", "bad name with spaces"])
def test_missing_path_names_value_and_options(name):
    with pytest.raises(QxError) as exc:
        resolve_pretrained(name)
    assert f"'{name}'" in str(exc.value) and "qx-tiny" in str(exc.value)


@pytest.mark.parametrize("name", ["gpt2", "EleutherAI/pythia-70m", "org/model-v1.5"])
def test_hub_ids_pass_through(name):
    assert resolve_pretrained(name) == name
