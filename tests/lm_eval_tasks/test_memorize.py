"""memorize: data loaders (world, LRE schema), per-document metrics and end-to-end runs."""

from __future__ import annotations

import json

import pytest

from lm_eval_tasks.memorize.utils import load_lre, lre_rows, process_results
from qxbench.errors import QxError
from qxbench.probes.attribution import Attribution
from qxbench.probes.logged import plain, read_result
from qxbench.probes.results import MemorizeResult
from tests.conftest import shared_path

from .conftest import evaluate

RELATION = {"name": "country capital city", "prompt_templates": ["The capital of {} is", "{}'s capital is"],
            "samples": [{"subject": "Loumfusland", "object": "Thethiburg"},
                        {"subject": "Baigorland", "object": "Kairtunburg"}]}


def test_lre_rows_follow_the_relation_schema():
    rows = lre_rows(RELATION, "capital.json")
    assert rows[0] == {"relation": "country capital city", "subject": "Loumfusland", "object": "Thethiburg",
                       "aliases": ["Thethiburg"], "prompt": "The capital of Loumfusland is"}
    assert lre_rows(RELATION, "capital.json", template=1)[1]["prompt"] == "Baigorland's capital is"


def test_lre_bad_input_names_the_field_or_value(tmp_path):
    with pytest.raises(QxError, match="missing required field 'samples'"):
        lre_rows({"prompt_templates": ["{}"]}, "bad.json")
    with pytest.raises(QxError, match="missing required field 'object'"):
        lre_rows({"prompt_templates": ["{}"], "samples": [{"subject": "x"}]}, "bad.json")
    with pytest.raises(QxError, match="lre_template=5"):
        lre_rows(RELATION, "capital.json", template=5)
    with pytest.raises(QxError, match="lre_path"):
        load_lre()
    with pytest.raises(QxError, match="not a .json file"):
        load_lre(str(tmp_path / "nothing.json"))


def test_process_results_with_and_without_a_reference():
    attr = Attribution(target=5, gold=6, gold_logprob=-0.5, gold_rank=2, attn_imp=[0.5, 1.0], ffn_imp=[0.25, -0.25],
                       top=[(1, 2, 0.5)], at_least={}, at_tau=1, scored=6)
    doc = {"aliases": ["Thethiburg"]}
    alone = process_results(doc, [MemorizeResult(" Thethiburg.", attr, None, None, {})])
    assert alone == {"recall": 1.0, "gold_logprob": -0.5, "gold_rank": 2.0, "target_is_gold": 0.0, "attn_imp": 1.5,
                     "ffn_imp": 0.0}
    paired = process_results(doc, [MemorizeResult(" Kairtunburg", attr, 280, 0.9, {})])
    assert paired["recall"] == 0.0
    assert paired["surviving_top300"] == 280.0
    assert paired["top300_overlap"] == 0.9


@pytest.mark.slow
def test_end_to_end_on_the_embedded_world(qx_lm):
    out = evaluate(qx_lm, ["memorize"], limit=6, log_samples=True)
    res = out["results"]["memorize"]
    assert res["recall,none"] == 1.0
    assert res["gold_rank,none"] == 1.0
    # its own reference: its top 300 all survive (more where neurons tie with the 300th score)
    assert res["surviving_top300,none"] >= 300.0
    assert res["top300_overlap,none"] == 1.0
    logged = plain(read_result(str(out["samples"]["memorize"][0]["filtered_resps"][0])))  # as logged (schema 1)
    assert len(logged["attn_imp"]) == len(logged["ffn_imp"]) == 4
    assert logged["completion"].strip()
    assert len(logged["top300"]) == 300
    assert logged["top300"][0][2] >= logged["top300"][-1][2] == logged["tau"]
    assert logged["options"] == {"norm": "fixed", "target": "top", "method": "bounded"}
    seconds = out["config"]["qx"]["probe_seconds"]  # this run's, by task
    assert list(seconds) == ["memorize"]
    assert seconds["memorize"] > 0
    phases = out["config"]["qx"]["phase_seconds"]  # and each of its phases'
    assert phases
    assert all(k.startswith("memorize · ") and v >= 0 for k, v in phases.items())
    assert sum(phases.values()) <= seconds["memorize"]


@pytest.mark.slow
def test_options_reach_the_probe_and_a_bad_one_stops_the_run(qx_lm):
    out = evaluate(qx_lm, ["memorize"], limit=2, log_samples=True, metadata={"target": "gold", "method": "dense"})
    logged = plain(read_result(str(out["samples"]["memorize"][0]["filtered_resps"][0])))
    assert logged["options"] == {"norm": "fixed", "target": "gold", "method": "dense"}
    assert logged["scored"] == 4 * 768
    assert logged["target"] == logged["gold"]
    with pytest.raises(QxError, match="Unknown memorize norm 'rms'"):
        evaluate(qx_lm, ["memorize"], limit=1, metadata={"norm": "rms"})


@pytest.mark.slow
def test_lre_variant_reads_relation_files(qx_lm, tmp_path):
    (tmp_path / "country_capital_city.json").write_text(json.dumps(RELATION))
    out = evaluate(qx_lm, ["memorize_lre"], metadata={"lre_path": str(tmp_path)})
    assert out["results"]["memorize_lre"]["recall,none"] == 1.0  # these two facts are in the embedded world


def _relation_file(path, relation):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(relation))
    return path


GENDER = {"name": "name gender", "prompt_templates": ["{} is usually a name for a"],
          "samples": [{"subject": "Lisa", "object": "woman"}]}


def test_lre_path_folder_is_read_recursively_and_lre_relations_picks_a_subset(tmp_path):
    _relation_file(tmp_path / "factual" / "country_capital_city.json", RELATION)
    _relation_file(tmp_path / "bias" / "deeper" / "name_gender.json", GENDER)
    everything = load_lre(str(tmp_path))["test"]
    assert everything["relation"] == ["name gender", "country capital city", "country capital city"]
    assert load_lre(str(tmp_path / "factual"))["test"]["subject"] == ["Loumfusland", "Baigorland"]
    for subset in ("name_gender", " name_gender, ", ["name_gender"]):
        assert load_lre(str(tmp_path), lre_relations=subset)["test"]["object"] == ["woman"]
    assert len(load_lre(str(tmp_path), lre_relations="")["test"]) == 3  # empty = every relation
    with pytest.raises(QxError, match=r"^Unknown LRE relation 'name_gendre'\. Did you mean 'name_gender'\? "
                                      r"Available: country_capital_city, name_gender$"):
        load_lre(str(tmp_path), lre_relations="name_gendre")


def test_lre_literal_escapes_are_decoded(tmp_path):
    relation = {**RELATION, "samples": [{"subject": "Brazil", "object": "Bras\\u00edlia"}]}
    row = load_lre(str(_relation_file(tmp_path / "capital.json", relation)))["test"][0]
    assert row["object"] == "Brasília"
    assert row["aliases"] == ["Brasília"]


def test_lre_real_capital_file_gives_brasilia():
    rows = load_lre(str(shared_path("data", "lre")), lre_relations="country_capital_city")["test"]
    brazil = rows[rows["subject"].index("Brazil")]
    assert brazil["object"] == "Brasília"
    assert brazil["prompt"] == "The capital city of Brazil is"
    assert rows[rows["subject"].index("Colombia")]["object"] == "Bogotá"
    assert not any("\\u" in obj for obj in rows["object"])


@pytest.mark.slow
def test_lre_relations_option_reaches_the_loader_through_lm_eval(qx_lm, tmp_path):
    _relation_file(tmp_path / "factual" / "country_capital_city.json", RELATION)
    _relation_file(tmp_path / "bias" / "name_gender.json", GENDER)
    metadata = {"lre_path": str(tmp_path), "lre_relations": "country_capital_city"}
    out = evaluate(qx_lm, ["memorize_lre"], metadata=metadata, log_samples=True)
    assert [s["doc"]["subject"] for s in out["samples"]["memorize_lre"]] == ["Loumfusland", "Baigorland"]
    assert out["results"]["memorize_lre"]["recall,none"] == 1.0


def _samples(out: dict) -> list[dict]:
    return [plain(read_result(str(s["filtered_resps"][0]))) for s in out["samples"]["memorize"]]


@pytest.fixture(scope="module")
def rtn_lm(quantized_tiny):
    return quantized_tiny(quant="rtn", bits=4, batch_size=32)


@pytest.mark.slow
def test_a_quantized_config_reads_the_full_precision_run_s_attributions(qx_lm, rtn_lm, tmp_path, monkeypatch):
    monkeypatch.setenv("QXBENCH_HOME", str(tmp_path / "computed"))
    computed = _samples(evaluate(rtn_lm, ["memorize"], limit=5, log_samples=True))
    assert [s["reference_cached"] for s in computed] == [False] * 5  # nothing kept yet: the reference ran

    monkeypatch.setenv("QXBENCH_HOME", str(tmp_path / "sweep"))
    full = _samples(evaluate(qx_lm, ["memorize"], limit=5, log_samples=True))  # the sweep's full-precision config
    assert [s["reference_cached"] for s in full] == [None] * 5  # its own reference
    assert len(list((tmp_path / "sweep" / "attributions").glob("*.json"))) == 5
    read = _samples(evaluate(rtn_lm, ["memorize"], limit=5, log_samples=True))
    assert [s["reference_cached"] for s in read] == [True] * 5
    for a, b in zip(computed, read, strict=True):
        assert (a["surviving"], a["overlap"], a["top300"]) == (b["surviving"], b["overlap"], b["top300"])
