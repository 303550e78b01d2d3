"""multihop: the TwoHopFact schema, per-document metrics and end-to-end runs."""

from __future__ import annotations

import csv
import json

import pytest

from lm_eval_tasks.multihop.utils import COLUMNS, parse_aliases, process_results
from qxbench.errors import QxError
from qxbench.probes.logged import plain, read_result
from qxbench.probes.results import MultiHopResult
from qxbench.world.data import read_rows

from .conftest import evaluate


def test_parse_aliases_accepts_lists_and_their_string_forms():
    assert parse_aliases(["a", "b"], "e2.aliases") == ["a", "b"]
    assert parse_aliases('["a", "b"]', "e2.aliases") == ["a", "b"]
    assert parse_aliases("['a', \"b's\"]", "e2.aliases") == ["a", "b's"]
    with pytest.raises(QxError, match="Field 'e3.aliases' must be a list of aliases, got 'a, b'"):
        parse_aliases("a, b", "e3.aliases")


def test_process_results_reads_the_right_aliases():
    doc = {"e2.value": "Femairora", "e2.aliases": ["Femai"], "e3.value": "Toubaburg", "e3.aliases": []}
    res = MultiHopResult(entrec=[-9.0, -2.5, -7.0], cnst=-1.25,
                         completions={"r1(e1)": " Femai.", "r2(e2)": " Toubaburg.", "r2(r1(e1))": " Femairora"})
    assert process_results(doc, [res]) == {"entrec_max": -2.5, "cnst": -1.25, "acc_r1": 1.0, "acc_r2": 1.0,
                                           "acc_twohop": 0.0}


@pytest.mark.slow
def test_end_to_end_on_the_embedded_world(qx_lm):
    out = evaluate(qx_lm, ["multihop"], limit=8, log_samples=True)
    res = out["results"]["multihop"]
    assert res["acc_r1,none"] == 1.0
    assert res["acc_r2,none"] == 1.0
    assert res["entrec_max,none"] < 0
    assert res["cnst,none"] < 0
    logged = plain(read_result(str(out["samples"]["multihop"][0]["filtered_resps"][0])))  # as logged (schema 1)
    assert len(logged["entrec"]) == 4  # one value per layer


@pytest.mark.slow
def test_twohopfact_variant_reads_the_csv_schema(qx_lm, tmp_path):
    rows = [r for r in read_rows("twohop") if r["split"] == "train"][:3]
    data = tmp_path / "twohopfact.csv"
    with data.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[*COLUMNS, "r1.type"])
        writer.writeheader()
        for r in rows:  # aliases as the CSV stores them: a list written as a string
            writer.writerow({**{c: r[c] for c in COLUMNS}, "e2.aliases": str(r["e2.aliases"]),
                             "e3.aliases": str(r["e3.aliases"]), "r1.type": r["r1.type"]})
    res = evaluate(qx_lm, ["multihop_twohopfact"], metadata={"data_path": str(data)})["results"]["multihop_twohopfact"]
    assert res["acc_twohop,none"] == 1.0  # trained chains


def test_twohopfact_without_a_required_column_names_it(qx_lm, tmp_path):
    data = tmp_path / "twohopfact.csv"
    data.write_text("r1(e1).prompt,e2.value\nX was born in,Y\n")
    with pytest.raises(QxError, match=r"twohopfact.csv' lacks the columns 'r2\(e2\).prompt', .*\(columns found: "
                                      r"r1\(e1\).prompt, e2.value\)"):
        evaluate(qx_lm, ["multihop_twohopfact"], metadata={"data_path": str(data)})


def _world_relations(directory):
    """The embedded world's one-hop facts as LRE relation files."""
    spec = {"birthplace": ("{} was born in", "person", "country"),
            "capital": ("The capital of {} is", "country", "city"),
            "language": ("The official language of {} is", "country", "language")}
    facts = read_rows("facts")
    for name, (template, domain, range_) in spec.items():
        (directory / f"{name}.json").write_text(json.dumps({
            "name": name, "prompt_templates": [template],
            "properties": {"relation_type": "factual", "domain_name": domain, "range_name": range_, "symmetric": False},
            "samples": [{"subject": f["subject"], "object": f["object"]} for f in facts if f["relation"] == name]}))
    return directory


@pytest.mark.slow
def test_lre_variant_runs_on_composed_chains(qx_lm, tmp_path):
    from qxbench.data.lre import read_relations
    from qxbench.data.twohop import compose, to_csv

    trained = {r["e1.value"] for r in read_rows("twohop") if r["split"] == "train"}
    chains = compose(read_relations(_world_relations(tmp_path)), mentions={"birthplace": "the birth country of {}"})
    chosen = [c for c in chains if c.e1 in trained][:3] + [c for c in chains if c.e1 in trained][-3:]
    data = tmp_path / "chains.csv"
    to_csv(chosen, data)
    world = {r["r2(r1(e1)).prompt"] for r in read_rows("twohop")}
    assert {c.r2 for c in chosen} == {"capital", "language"}
    assert all(c.row()["r2(r1(e1)).prompt"] in world for c in chosen)  # the world's own two-hop sentences
    out = evaluate(qx_lm, ["multihop_lre"], metadata={"data_path": str(data)}, log_samples=True)
    res = out["results"]["multihop_lre"]
    assert len(out["samples"]["multihop_lre"]) == 6
    assert res["acc_r1,none"] == res["acc_r2,none"] == res["acc_twohop,none"] == 1.0  # trained chains
    assert res["entrec_max,none"] < 0
    assert res["cnst,none"] < 0


def test_lre_variant_bad_data_path_is_one_line(tmp_path):
    from lm_eval_tasks.multihop.utils import load_lre_chains

    with pytest.raises(QxError, match=r"^multihop_lre needs a CSV of chains: `qxbench data twohop"):
        load_lre_chains()
    with pytest.raises(QxError, match=r"^data_path '.*nothing.csv' is not a file"):
        load_lre_chains(str(tmp_path / "nothing.csv"))
    (tmp_path / "empty.csv").write_text(",".join(COLUMNS) + "\n")
    with pytest.raises(QxError, match=r"empty.csv' has a header \(r1\(e1\).prompt, .*\) but no rows"):
        load_lre_chains(str(tmp_path / "empty.csv"))
    (tmp_path / "bad.csv").write_text("r1(e1).prompt,e2.value\nX was born in,Y\n")
    with pytest.raises(QxError, match=r"bad.csv' lacks the columns 'r2\(e2\).prompt'"):
        load_lre_chains(str(tmp_path / "bad.csv"))
