"""Bad input never costs work (issue 28): every case ends in one line naming the value, before any
model work. The data-file cases (``qxbench.probes.datasource.load_local``) are here; the command-line
cases are in the second half of this file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qxbench.errors import QxError
from qxbench.probes.datasource import load_hub, load_local

COLUMNS = {"sentence": str, "label": int}


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    return path


@pytest.mark.parametrize(("name", "content", "words"), [
    ("e.csv", "", ["is empty"]),
    ("e.jsonl", "\n\n", ["is empty"]),
    ("b.csv", b"PK\x03\x04\x00\x00binary", ["is binary"]),
    ("b.jsonl", b"\xff\xfe{\"a\": 1}", ["not UTF-8", "line 1"]),
    ("t.jsonl", '{"sentence": "a", "label": 1}\n{"sentence": "b", "lab', ["line 2", "not a complete JSON object"]),
    ("n.jsonl", '[1, 2]\n', ["line 1", "expected a JSON object"]),
    ("f.csv", "sentence,label\na,1\nb,1,2\n", ["line 3", "3 fields", "header 2"]),
    ("h.csv", "sentence,label\n", ["no rows"]),
    ("c.csv", "text,y\na,1\n", ["lacks the columns 'sentence', 'label'", "columns found: text, y"]),
    ("s.jsonl", '{"sentence": "a", "label": "1"}\n', ["line 1", "label '1'", "expected an integer"]),
    ("x.csv", "sentence,label\na,0\nb,x\n", ["line 3", "label 'x'", "expected an integer"]),
    ("d.csv", "sentence,label\na,1.7\n", ["line 2", "label '1.7'", "expected an integer"]),
    ("d.jsonl", '{"sentence": "a", "label": 1.7}\n', ["line 1", "label 1.7", "expected an integer"]),
    ("o.jsonl", '{"sentence": "a", "label": true}\n', ["label True", "expected an integer"]),
    ("m.jsonl", '{"sentence": "a", "label": 0}\n{"sentence": "b"}\n', ["line 2", "has no 'label'"]),
    ("w.jsonl", '{"sentence": 3, "label": 0}\n', ["sentence 3", "expected a string"]),
    ("p.parquet", "not parquet", ["is not a Parquet file"]),
])
def test_a_bad_local_file_is_one_line_naming_it(tmp_path, name, content, words):
    path = _write(tmp_path, name, content)
    with pytest.raises(QxError) as err:
        load_local(str(path), "stem", columns=COLUMNS)
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    for word in words:
        assert word in message, message


def test_the_hub_id_is_never_named_for_a_local_file(tmp_path):
    path = _write(tmp_path, "ecqa.csv", "q_text,label\nwhat,1.5\n")
    with pytest.raises(QxError) as err:
        load_hub("tasksource/ecqa", "validation", "ecqa", str(tmp_path), columns={"label": int})
    assert str(path) in str(err.value) and "tasksource" not in str(err.value)


@pytest.mark.parametrize(("name", "content"), [
    ("ok.csv", "sentence,label\nhi,1\nho,0.0\n"),
    ("ok.jsonl", '{"sentence": "hi", "label": 1}\n\n{"sentence": "ho", "label": 0.0}\n'),
    ("ok.json", json.dumps([{"sentence": "hi", "label": 1}, {"sentence": "ho", "label": 0.0}])),
])
def test_good_files_load_with_integer_labels(tmp_path, name, content):
    test = load_local(str(_write(tmp_path, name, content)), "stem", columns=COLUMNS)["test"]
    assert test["sentence"] == ["hi", "ho"] and test["label"] == [1, 0]
    assert test.features["label"].dtype == "int64"


def test_a_csv_text_column_of_numbers_stays_text(tmp_path):
    test = load_local(str(_write(tmp_path, "n.csv", "sentence,label\n7,1\n8,0\n")), "stem", columns=COLUMNS)["test"]
    assert test["sentence"] == ["7", "8"]


def test_parquet_loads(tmp_path):
    import pandas as pd

    pd.DataFrame({"sentence": ["a"], "label": [1]}).to_parquet(tmp_path / "stem.parquet")
    assert load_local(str(tmp_path), "stem", columns=COLUMNS)["test"]["label"] == [1]


def test_without_columns_any_well_formed_file_loads(tmp_path):
    test = load_local(str(_write(tmp_path, "any.jsonl", '{"a": "1"}\n')), "stem")["test"]
    assert test["a"] == ["1"]
