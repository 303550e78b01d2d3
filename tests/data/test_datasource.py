"""Where a variant's documents come from: a local file or a folder holding ``<stem>.<ext>``, JSON arrays,
column types beyond integers, and the Hub. The bad-file cases of JSON lines and CSV: tests/test_bad_input.py."""

from __future__ import annotations

import datasets
import pytest

from qxbench.data.datasource import load_hub, load_local, read_csv
from qxbench.errors import QxError


def test_a_folder_holds_the_stem_in_the_first_format_found(tmp_path):
    (tmp_path / "sst2.jsonl").write_text('{"sentence": "from jsonl"}\n')
    assert load_local(str(tmp_path), "sst2")["test"]["sentence"] == ["from jsonl"]
    (tmp_path / "sst2.csv").write_text("sentence\nfrom csv\n")
    assert load_local(str(tmp_path), "sst2")["test"]["sentence"] == ["from csv"], "csv is not looked for first"


def test_a_path_that_holds_no_data_file_names_what_was_looked_for(tmp_path):
    with pytest.raises(QxError, match=r"is a folder without sst2\.csv or sst2\.json or sst2\.jsonl or sst2\.parquet$"):
        load_local(str(tmp_path), "sst2")
    with pytest.raises(QxError, match=r"^data_path '.*/nowhere' is not a file or a folder$"):
        load_local(str(tmp_path / "nowhere"), "sst2")
    (tmp_path / "sst2.txt").write_text("sentence\nx\n")
    with pytest.raises(QxError, match=r"^Unknown data_path format of '.*sst2\.txt' '\.txt'\. "
                                      r"Available: \.csv, \.json, \.jsonl, \.parquet$"):
        load_local(str(tmp_path / "sst2.txt"), "sst2")


@pytest.mark.parametrize(("content", "words"), [
    ("[]", "has no records"),
    ('[{"sentence": "a"}, 2]', "record 2 is int, expected a JSON object"),
    ('[{"sentence": "a"},\n{"sentence": ', "line 2 is not valid JSON"),
    ('{"sentence": "a", "n": 1}\n{"sentence": "b", "n": "two"}\n', "its rows do not share one schema"),
])
def test_a_bad_json_file_is_one_line_naming_it(tmp_path, content, words):
    path = tmp_path / ("rows.jsonl" if content.startswith("{") else "rows.json")
    path.write_text(content)
    with pytest.raises(QxError) as err:
        load_local(str(path), "rows")
    assert str(path) in str(err.value)
    assert words in str(err.value), str(err.value)


def test_a_number_column_takes_integers_but_not_booleans_and_an_object_column_any_value(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"score": 1, "extra": [1, 2]}\n{"score": 0.5, "extra": null}\n')
    test = load_local(str(path), "rows", columns={"score": float, "extra": object})["test"]
    assert test["score"] == [1.0, 0.5]
    path.write_text('{"score": true}\n')
    with pytest.raises(QxError, match=r"line 1 has score True, expected a number$"):
        load_local(str(path), "rows", columns={"score": float})


def test_read_csv_gives_each_row_its_line_and_names_the_option_it_was_given(tmp_path):
    path = tmp_path / "chains.csv"
    path.write_text("a,b\n1,2\n\n3,4\n")
    assert read_csv(path, ["a"], option="lre_path") == [(2, {"a": "1", "b": "2"}), (4, {"a": "3", "b": "4"})]
    with pytest.raises(QxError, match=r"^lre_path file '.*chains\.csv' lacks the column 'c' \(columns found: a, b\)$"):
        read_csv(path, ["c"], option="lre_path")


def test_without_a_local_copy_the_hub_split_is_the_test_split(monkeypatch):
    asked = []

    def hub(hub_id, name, split):
        asked.append((hub_id, name, split))
        return datasets.Dataset.from_list([{"sentence": "from the hub"}])

    monkeypatch.setattr(datasets, "load_dataset", hub)
    got = load_hub("stanfordnlp/sst2", "validation", "sst2", None, "default")
    assert list(got) == ["test"]
    assert asked == [("stanfordnlp/sst2", "default", "validation")]


def test_a_dataset_missing_from_the_hub_names_it_and_the_local_option(monkeypatch):
    def missing(*_args, **_kwargs):
        raise FileNotFoundError("Dataset 'x/y' doesn't exist on the Hub\nmore detail")

    monkeypatch.setattr(datasets, "load_dataset", missing)
    with pytest.raises(QxError) as err:
        load_hub("x/y", "test", "y")
    assert str(err.value) == (
        "Dataset 'x/y' could not be loaded from the Hub (Dataset 'x/y' doesn't exist on the Hub): pass a local copy "
        "of its test split with --metadata '{\"data_path\": \"/path/to/y.jsonl\"}'")
