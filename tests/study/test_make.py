from __future__ import annotations

import json
import random
from collections import Counter

from qxbench.cli import main
from qxbench.study.make import make_study, slot_orders
from tests.study.conftest import write_runs


def test_items_pair_every_config_on_the_same_document_and_hide_which_is_which(runs_dir, tmp_path):
    assert main(["study", "make", str(runs_dir), "-o", str(tmp_path / "s"), "--items", "4", "--raters", "2"]) == 0
    study = json.loads((tmp_path / "s" / "study.json").read_text())
    key = json.loads((tmp_path / "s" / "key.json").read_text())
    assert len(study["items"]) == 8
    assert {i["task"] for i in study["items"]} == {"nle_sim", "cf_flip"}
    public = (tmp_path / "s" / "study.json").read_text() + (tmp_path / "s" / "rate_r1.html").read_text()
    assert "bnb-nf4" not in public
    assert "rtn-4b" not in public
    assert '"fp"' not in public
    for item in study["items"]:
        slots = key["items"][item["id"]]["slots"]
        assert sorted(slots.values()) == ["bnb-nf4-4b", "fp", "rtn-4b"]
        for out in item["outputs"]:  # the fixture's answers start with their config's directory name
            config = slots[out["slot"]]
            assert dict(out["fields"]).get("explanation", dict(out["fields"]).get("rewrite")).split()[0] == \
                {"fp": "fp", "bnb-nf4-4b": "nf4", "rtn-4b": "rtn"}[config]
    assert sorted(p.name for p in (tmp_path / "s").glob("*.html")) == ["rate.html", "rate_r1.html", "rate_r2.html"]


def test_the_same_seed_gives_the_same_study_and_another_seed_another(runs_dir):
    a, b = (make_study(runs_dir, items=3, seed=1, raters=0) for _ in range(2))
    c = make_study(runs_dir, items=3, seed=2, raters=0)
    assert a.manifest == b.manifest
    assert a.key == b.key
    assert c.manifest["id"] != a.manifest["id"]


def test_documents_missing_in_a_config_or_seen_differently_are_left_out(tmp_path):
    root = write_runs(tmp_path / "runs", docs={"nf4": [0, 1, 2, 3]})
    study = make_study(root, items=10, seed=0, raters=0)
    assert sorted(v["doc_id"] for v in study.key["items"].values()) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert any("fewer than --items 10" in n for n in study.notes)


def test_slot_order_is_balanced():
    orders = slot_orders(30, 3, random.Random(0))
    for slot in range(3):
        assert Counter(o[slot] for o in orders) == {0: 10, 1: 10, 2: 10}
    assert len({tuple(o) for o in orders}) == 3  # rotations: not one fixed order


def test_bad_input_is_one_line(runs_dir, tmp_path, capsys):
    assert main(["study", "make", str(runs_dir), "-o", str(tmp_path / "s"), "--items", "0"]) == 2
    assert capsys.readouterr().err.strip() == "qxbench: error: --items 0: need at least 1 item per task"
    assert main(["study", "make", str(runs_dir), "-o", str(tmp_path / "s")]) == 0
    assert main(["study", "make", str(runs_dir), "-o", str(tmp_path / "s")]) == 2
    assert "already holds a study" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["study", "make", str(tmp_path / "empty"), "-o", str(tmp_path / "t")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
