import json

import pytest

from qxbench.errors import QxError
from qxbench.quant.calibration import Calibration, calibration_texts


def test_world_calibration_is_deterministic_and_sized():
    a = calibration_texts(Calibration(samples=16))
    assert len(a) == 16 and a == calibration_texts(Calibration(samples=16))


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
