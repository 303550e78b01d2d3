import json

import pytest

from qxbench.errors import QxError
from qxbench.quant import cache
from qxbench.quant.calibration import Calibration, calibration_texts


def test_world_calibration_is_deterministic_and_sized():
    a = calibration_texts(Calibration(samples=16))
    assert len(a) == 16
    assert a == calibration_texts(Calibration(samples=16))


@pytest.fixture()
def local_dataset(tmp_path):
    """A local stand-in for a Hub dataset: same loader (`datasets.load_dataset`), same format."""
    rows = [{"text": f"The tea was warm number {i}.", "label": i % 2} for i in range(10)] + [{"text": "", "label": 0}]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(tmp_path)


def test_dataset_source_reads_its_text_column(local_dataset):
    texts = calibration_texts(Calibration(source=local_dataset, samples=4))
    assert texts == [f"The tea was warm number {i}." for i in range(4)]


def test_wrong_column_names_the_columns(local_dataset):
    with pytest.raises(QxError, match=r"has no column 'sentence'\. Columns: text, label"):
        calibration_texts(Calibration(source=local_dataset, column="sentence"))


def test_unreachable_dataset_is_one_line():
    with pytest.raises(QxError, match=r"^Could not load calibration dataset 'qxbench-test/nope'"):
        calibration_texts(Calibration(source="qxbench-test/nope"))


def test_zero_samples_is_refused():
    with pytest.raises(QxError, match="calib_samples=0"):
        calibration_texts(Calibration(samples=0))


def test_auto_is_the_world_only_for_the_embedded_model():
    from qxbench.quant.calibration import REAL_TEXT, default_source

    assert default_source("qx-tiny", True) == "world"
    assert default_source("smollm2-135m", False) == REAL_TEXT == "Salesforce/wikitext:wikitext-2-raw-v1"


def test_local_text_and_table_files(tmp_path, local_dataset):
    txt = tmp_path / "texts.txt"
    txt.write_text("first text\n\n  second text \nthird\n")
    assert calibration_texts(Calibration(source=str(txt), samples=2)) == ["first text", "second text"]
    jsonl = next(p for p in __import__("pathlib").Path(local_dataset).iterdir() if p.suffix == ".jsonl")
    assert calibration_texts(Calibration(source=str(jsonl), samples=2)) == [
        "The tea was warm number 0.", "The tea was warm number 1."]
    bad = tmp_path / "texts.docx"
    bad.write_text("x")
    with pytest.raises(QxError, match=r"unknown format '\.docx'; use one of \.txt, \.jsonl"):
        calibration_texts(Calibration(source=str(bad)))


def test_offline_hub_id_names_the_local_file_option():
    with pytest.raises(QxError, match=r"offline\? pass a local file or directory: calibration=/path/to/texts.txt"):
        calibration_texts(Calibration(source="Salesforce/wikitext:wikitext-2-raw-v1"))


def test_group_size_default_is_the_largest_dividing_every_layer(tmp_path, capsys):
    from transformers import LlamaConfig

    from qxbench.quant._common import group_size_for

    def model_dir(hidden: int, mlp: int) -> str:
        d = tmp_path / f"m{hidden}"
        LlamaConfig(hidden_size=hidden, intermediate_size=mlp, num_hidden_layers=1, num_attention_heads=4,
                    num_key_value_heads=4, vocab_size=100).save_pretrained(d)
        return str(d)

    assert group_size_for(model_dir(256, 768), None, "gptq") == 128
    assert group_size_for(model_dir(576, 1536), None, "gptq") == 64  # SmolLM2's shapes
    assert "group_size=64" in capsys.readouterr().err
    assert group_size_for(model_dir(576, 1536), 32, "gptq") == 32  # asked for: kept
    with pytest.raises(QxError, match=r"no group size of 128, 64, 32 divides every layer's in_features \(100"):
        group_size_for(model_dir(100, 300), None, "rtn")


def test_the_cache_key_follows_a_calibration_file_s_text_not_its_name(tmp_path, monkeypatch):
    """An edited calibration file, or another file of the same relative name in another folder, gets its own
    quantized model: the cache key holds the file's sha256 (config.qx keeps the calibration as given)."""
    from qxbench.quant._common import cache_spec

    def key(cal: Calibration) -> str:
        return cache.cache_key(cache_spec("m", backend="gptq", distribution="torch", bits=4, group_size=32,
                                          calibration=cal))

    for folder, text in (("a", "one\ntwo\n"), ("b", "three\nfour\n")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "cal.txt").write_text(text)
    cal = Calibration("cal.txt", samples=2)
    monkeypatch.chdir(tmp_path / "a")
    first = key(cal)
    assert key(cal) == first, "the same file keyed twice differs"
    monkeypatch.chdir(tmp_path / "b")
    assert key(cal) != first, "another file of the same name read the first file's quantized model"
    (tmp_path / "b" / "cal.txt").write_text("one\ntwo\n")
    assert key(cal) == first, "the same text under the same name is not the same key"
    (tmp_path / "b" / "cal.txt").write_text("one\ntwo, edited\n")
    assert key(cal) != first, "an edited file read the quantized model of its old text"
    assert cal.key() == {"source": "cal.txt", "samples": 2, "split": "train", "column": "text"}, \
        "the recorded calibration changed"
    assert Calibration("world").content() is None, "the synthetic world has no file to hash"
