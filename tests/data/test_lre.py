"""qxbench.data.lre: relation files (one, a folder, recursively, a subset), escapes, bad input."""

from __future__ import annotations

import json

import pytest

from qxbench.data.lre import Relation, decode_escapes, parse_names, read_relations, relation_files
from qxbench.errors import QxError
from tests.conftest import shared_path


def _write(path, name="r", samples=(("a", "b"),), templates=("{} is",)):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": name, "prompt_templates": list(templates),
                                "properties": {"domain_name": "country", "range_name": "city", "symmetric": False},
                                "samples": [{"subject": s, "object": o} for s, o in samples]}))
    return path


def test_decode_escapes_only_touches_literal_unicode_escapes():
    assert decode_escapes("Bras\\u00edlia") == "Brasília"
    assert decode_escapes("Bogot\\u00e1") == "Bogotá"
    assert decode_escapes("\\ud83d\\ude00 smile") == "\U0001F600 smile"  # a surrogate pair is one character
    assert decode_escapes("C:\\new \\x41 \\u12") == "C:\\new \\x41 \\u12"  # not a complete \uXXXX: kept
    assert decode_escapes("Brasília") == "Brasília"


def test_parse_names_empty_means_all():
    assert parse_names(None) == parse_names("") == parse_names([]) == parse_names(" , ") == ()
    assert parse_names("a, b,a") == ("a", "b")
    assert parse_names(["b", "a"]) == ("b", "a")


def test_relation_files_one_file_a_folder_recursively_and_a_subset(tmp_path):
    a = _write(tmp_path / "factual" / "a.json")
    b = _write(tmp_path / "factual" / "deeper" / "b.json")
    c = _write(tmp_path / "bias" / "c.json")
    assert relation_files(a) == [a]
    assert relation_files(tmp_path) == [c, a, b]  # sorted by relative path
    assert relation_files(tmp_path / "factual") == [a, b]
    assert relation_files(tmp_path, ("b", "c")) == [c, b]  # in file order
    with pytest.raises(QxError, match=r"^Unknown LRE relation 'bb'\. Did you mean 'b'\? Available: a, b, c$"):
        relation_files(tmp_path, ("bb",))


def test_relation_files_bad_input_is_one_line(tmp_path):
    with pytest.raises(QxError, match="lre_path '.*nothing' is not a .json file or a directory of them"):
        relation_files(tmp_path / "nothing")
    with pytest.raises(QxError, match="--lre '.*' is not a .json file"):
        relation_files(tmp_path, option="--lre")  # an empty folder
    _write(tmp_path / "x" / "a.json")
    _write(tmp_path / "y" / "a.json")
    with pytest.raises(QxError, match="Two relation files named 'a'"):
        relation_files(tmp_path)


def test_relation_from_json_decodes_and_checks_fields(tmp_path):
    rel = read_relations(_write(tmp_path / "capital.json", samples=[("Brazil", "Bras\\u00edlia")]))[0]
    assert rel == Relation(name="capital", source=str(tmp_path / "capital.json"), templates=("{} is",),
                           relation_type="", domain_name="country", range_name="city", symmetric=False,
                           samples=(("Brazil", "Brasília"),))
    with pytest.raises(QxError, match="missing required field 'samples'"):
        Relation.from_json({"prompt_templates": ["{}"]}, "bad.json")
    with pytest.raises(QxError, match="missing required field 'object'"):
        Relation.from_json({"prompt_templates": ["{}"], "samples": [{"subject": "x"}]}, "bad.json")
    with pytest.raises(QxError, match="prompt_templates must be a non-empty list"):
        Relation.from_json({"prompt_templates": [], "samples": []}, "bad.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(QxError, match="broken.json: not valid JSON"):
        read_relations(tmp_path / "broken.json")


def test_the_real_capital_file_decodes_brasilia():
    (rel,) = read_relations(shared_path("data", "lre", "factual", "country_capital_city.json"))
    capitals = dict(rel.samples)
    assert capitals["Brazil"] == "Brasília"
    assert capitals["Colombia"] == "Bogotá"
    assert not any("\\u" in s or "\\u" in o for s, o in rel.samples)
