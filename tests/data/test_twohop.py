"""qxbench.data.twohop: chains composed from hand-made relation files and from the real LRE data."""

from __future__ import annotations

import csv
import io
import json

import pytest

from lm_eval_tasks.multihop.utils import COLUMNS as PROBE_COLUMNS
from lm_eval_tasks.multihop.utils import parse_aliases
from qxbench.data.lre import read_relations
from qxbench.data.twohop import COLUMNS, compose, pairs, subject_cut, to_csv, unphrased
from qxbench.errors import QxError
from tests.conftest import golden, shared_path

RELATIONS = {  # name: (templates, domain, range, symmetric, samples)
    "food_from_country": (["{} originates from", "{} is from the country of"], "food", "country", False,
                          [("Pizza", "Italy"), ("Sushi", "Japan"), ("Dish", "Italy"), ("Dish", "France"),
                           ("Rome Pasta", "Italy"), ("Japan Curry", "Japan"), ("Pizza", "Italy")]),
    "country_capital_city": (["The capital city of {} is"], "country", "city", False,
                             [("Italy", "Rome"), ("Japan", "Tokyo"), ("France", "Paris"), ("Israel", "Jerusalem")]),
    "country_language": (["People in {} speak"], "country", "language", False,
                         [("Italy", "Italian"), ("Japan", "Japanese"), ("Japan", "Ainu")]),
    "country_motto": (["{}'s motto is"], "country", "motto", False, [("Italy", "Forza")]),
    "city_in_country": (["{} is part of", "{} is in the country of"], "city", "country", False, [("Rome", "Italy")]),
    "product_by_company": (["{} was created by"], "product", "company", False, [("Wii", "Nintendo")]),
    "company_hq": (["{} is headquartered in the city of"], "company", "city", False, [("Nintendo", "Kyoto")]),
    "adj_antonym": (["The opposite of {} is"], "adjective", "adjective", True, [("good", "bad"), ("bad", "good")]),
    "name_birthplace": (["{} was born in the country of"], "name", "country", False, [("Tal", "Israel")]),
}


@pytest.fixture
def lre_dir(tmp_path):
    for i, (name, (templates, domain, range_, symmetric, samples)) in enumerate(RELATIONS.items()):
        folder = tmp_path / "lre" / ("factual" if i % 2 else "other") / "sub"  # recursion
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.json").write_text(json.dumps({
            "name": name.replace("_", " "), "prompt_templates": templates, "prompt_templates_zs": [],
            "properties": {"relation_type": "factual", "domain_name": domain, "range_name": range_,
                           "symmetric": symmetric},
            "samples": [{"subject": s, "object": o} for s, o in samples]}))
    return tmp_path / "lre"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_composition_columns_prompts_and_aliases(lre_dir):
    text = to_csv(compose(read_relations(lre_dir)))
    assert text.splitlines()[0].split(",") == list(COLUMNS)
    assert set(PROBE_COLUMNS) <= set(COLUMNS)
    rows = _rows(text)
    by = {(r["r1.type"], r["r2.type"], r["e1.value"]): r for r in rows}
    assert sorted(by) == [
        ("city_in_country", "country_language", "Rome"),
        ("food_from_country", "country_capital_city", "Pizza"),
        ("food_from_country", "country_capital_city", "Sushi"),
        ("food_from_country", "country_language", "Pizza"),
        ("food_from_country", "country_language", "Rome Pasta"),  # names neither Italy nor Italian
        ("food_from_country", "country_language", "Sushi"),
        ("product_by_company", "company_hq", "Wii"),
    ]
    pizza = by["food_from_country", "country_capital_city", "Pizza"]
    assert {k: pizza[k] for k in ("r1(e1).prompt", "r2(e2).prompt", "r2(r1(e1)).prompt",
                                  "r2(r1(e1)).subject_cut.prompt", "r1(e1).descriptive_mention", "e2.value",
                                  "e3.value")} == {
        "r1(e1).prompt": "Pizza is from the country of",  # TEMPLATES: the template naming the country
        "r2(e2).prompt": "The capital city of Italy is",
        "r2(r1(e1)).prompt": "The capital city of the country Pizza is from is",
        "r2(r1(e1)).subject_cut.prompt": "The capital city of the country Pizza is from",
        "r1(e1).descriptive_mention": "the country Pizza is from", "e2.value": "Italy", "e3.value": "Rome"}
    assert by["city_in_country", "country_language", "Rome"]["r2(r1(e1)).prompt"] == (
        "People in the country where Rome is located speak")
    wii = by["product_by_company", "company_hq", "Wii"]  # a template starting with the subject: capitalised
    assert wii["r2(r1(e1)).prompt"] == "The company that created Wii is headquartered in the city of"
    sushi = by["food_from_country", "country_language", "Sushi"]
    assert parse_aliases(sushi["e3.aliases"], "e3.aliases") == ["Japanese", "Ainu"]
    assert sushi["e3.value"] == "Japanese"
    for r in rows:
        assert parse_aliases(r["e1.aliases"], "e1.aliases") == [r["e1.value"]]
        assert parse_aliases(r["e2.aliases"], "e2.aliases") == [r["e2.value"]]
        cut, prompt = r["r2(r1(e1)).subject_cut.prompt"], r["r2(r1(e1)).prompt"]
        assert prompt.startswith(cut)
        assert len(cut) < len(prompt)
        assert cut.lower().endswith(r["r1(e1).descriptive_mention"].lower())
        assert r["e1.value"] in r["r1(e1).prompt"]
        assert r["e2.value"] in r["r2(e2).prompt"]


def test_skip_rules(lre_dir):
    relations = read_relations(lre_dir)
    chains = compose(relations)
    names = {(p.name, q.name) for p, q in pairs(relations)}
    assert ("adj_antonym", "adj_antonym") not in names  # symmetric with itself
    assert not any(q == "country_motto" for _, q in names)  # only a possessive template
    assert ("country_capital_city", "city_in_country") in names  # the pair meets ...
    assert not any(c.r1 == "country_capital_city" for c in chains)  # ... but every chain ends where it began
    assert not {"Dish", "Japan Curry"} & {c.e1 for c in chains}  # two bridges; names its bridge
    assert not any(c.e1 == "Rome Pasta" and c.r2 == "country_capital_city" for c in chains)  # names its answer
    assert unphrased(relations) == ["name_birthplace"]
    tal = compose(relations, mentions={"name_birthplace": "the country where {} was born"})
    assert [c.row()["r2(r1(e1)).prompt"] for c in tal] == ["The capital city of the country where Tal was born is"]


def test_same_inputs_same_bytes_and_a_seeded_cap(lre_dir, tmp_path):
    out = tmp_path / "a.csv"
    text = to_csv(compose(read_relations(lre_dir)), out)
    assert out.read_bytes() == text.encode() == to_csv(compose(read_relations(lre_dir))).encode()
    capped = [to_csv(compose(read_relations(lre_dir), max_per_pair=1, seed=s)) for s in range(8)]
    assert capped[3] == to_csv(compose(read_relations(lre_dir), max_per_pair=1, seed=3))
    per_pair = [(r["r1.type"], r["r2.type"]) for r in _rows(capped[0])]
    assert len(per_pair) == len(set(per_pair)) == 4
    assert len({r["e1.value"] for text in capped for r in _rows(text) if r["r2.type"] == "country_language"}) > 1


def test_bad_input_is_one_line(lre_dir):
    relations = read_relations(lre_dir)
    with pytest.raises(QxError, match="max_per_pair must be at least 1, got 0"):
        compose(relations, max_per_pair=0)
    only = [r for r in relations if r.name in ("name_birthplace", "country_capital_city", "adj_antonym")]
    with pytest.raises(QxError, match="^No composable relation pairs among .*name_birthplace") as err:
        compose(only)
    assert "\n" not in str(err.value)
    with pytest.raises(QxError, match="Mention 'the x' does not occur"):
        subject_cut("The capital of y is", "the x")


@pytest.mark.real
def test_the_real_lre_data_composes_the_golden_chains():
    chains = compose(read_relations(shared_path("data", "lre")))
    rows = {(r["r1.type"], r["r2.type"], r["e1.value"]): r for r in (c.row() for c in chains)}
    assert len(chains) > 2000
    assert len({(c.r1, c.r2) for c in chains}) > 20
    for g in golden("multihop")["rows"]:  # composed from LRE in the same way (Pizza -> Italy -> Rome, ...)
        row = rows[g["r1"], g["r2"], g["e1.value"]]
        for col in ("r1(e1).prompt", "r2(e2).prompt", "r2(r1(e1)).prompt", "r2(r1(e1)).subject_cut.prompt",
                    "e2.value", "e3.value"):
            assert row[col] == g[col], (g["chain"], col)
        assert parse_aliases(row["e3.aliases"], "e3.aliases") == g["e3.aliases"]
    assert rows["city_in_country", "country_capital_city", "Rio de Janeiro"]["e3.value"] == "Brasília"
