from __future__ import annotations

import json
from pathlib import Path

import pytest

from qxbench.cli import main
from qxbench.study.make import dumps, sha256, study_sha256

SCORE = {"fp": 4, "bnb-nf4-4b": 2, "rtn-4b": 4}  # what the made-up raters give each config, on every criterion


@pytest.fixture()
def study(runs_dir, tmp_path) -> Path:
    out = tmp_path / "study"
    assert main(["study", "make", str(runs_dir), "-o", str(out), "--items", "4"]) == 0
    return out


def answers(study: Path, rater: str, shift: int = 0, keep: int | None = None, **over) -> dict:
    """An answer file as the page writes it, each answer rated by its (unblinded) config."""
    manifest = json.loads((study / "study.json").read_text())
    key = json.loads((study / "key.json").read_text())
    ratings = {}
    for item in manifest["items"][:keep]:
        criteria = [c["name"] for c in manifest["families"][item["family"]]["criteria"]]
        slots = key["items"][item["id"]]["slots"]
        ratings[item["id"]] = {o["slot"]: {c: SCORE[slots[o["slot"]]] + shift for c in criteria}
                               for o in item["outputs"]}
    return {"schema": "qxbench-study-answers/1", "study_id": manifest["id"], "rater": rater, "ratings": ratings,
            **over}


def write(tmp_path: Path, name: str, value: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(value))
    return str(path)


def test_collect_unblinds_and_compares_with_full_precision(study, tmp_path, capsys):
    a = write(tmp_path, "a.json", answers(study, "ann"))
    b = write(tmp_path, "b.json", answers(study, "bob", shift=1, keep=5))  # partial: 5 of 8 items
    runs = study.parent / "runs"
    assert main(["study", "collect", str(study), a, b, "--bootstrap_iters", "200", "-o", str(runs)]) == 0
    out = capsys.readouterr().out
    assert "rater ann: 72/72 ratings (complete)" in out
    assert "rater bob: 45/72 ratings (partial)" in out
    study_id = json.loads((study / "study.json").read_text())["id"]
    result = json.loads((runs / f"qx_human_ratings_{study_id}.json").read_text())
    rows = {(r["task"], r["criterion"], r["config"]): r for r in result["rows"]}
    assert len(rows) == 2 * 3 * 3
    nf4 = rows[("nle_sim", "coherence", "bnb-nf4-4b")]
    assert nf4["diff"] == pytest.approx(-2.0)
    assert nf4["low"] == pytest.approx(-2.0)
    assert nf4["pairs"] == 4
    assert rows[("cf_flip", "fluency", "rtn-4b")]["diff"] == pytest.approx(0.0)
    assert rows[("nle_sim", "coherence", "fp")]["diff"] is None
    assert 4.0 < rows[("nle_sim", "coherence", "fp")]["mean"] <= 5.0  # bob rates one higher on some items
    assert set(result["alpha"]) == {"nle_sim", "cf_flip"}
    assert -1 <= result["alpha"]["nle_sim"]["coherence"] <= 1


@pytest.mark.parametrize(("change", "message"), [
    ({"study_id": "0123456789ab"}, "is for study '0123456789ab', not this study"),
    ({"schema": "other/1"}, "schema 'other/1', expected 'qxbench-study-answers/1'"),
    ({"rater": " "}, "rater ' ' is not a name"),
])
def test_bad_answer_files_are_one_line(study, tmp_path, capsys, change, message):
    path = write(tmp_path, "a.json", {**answers(study, "ann"), **change})
    assert main(["study", "collect", str(study), path]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert path in err


@pytest.mark.parametrize("value", [6, 0, 3.5, True, "4", None])
def test_out_of_range_ratings_are_refused(study, tmp_path, capsys, value):
    data = answers(study, "ann")
    item = next(iter(data["ratings"]))
    slot = next(iter(data["ratings"][item]))
    criterion = next(iter(data["ratings"][item][slot]))
    data["ratings"][item][slot][criterion] = value
    assert main(["study", "collect", str(study), write(tmp_path, "a.json", data)]) == 2
    err = capsys.readouterr().err
    assert f"{item} {slot} {criterion} = {json.dumps(value)}: ratings are whole numbers 1-5" in err
    assert err.count("\n") == 1


def test_unknown_items_slots_criteria_and_twice_the_same_rater(study, tmp_path, capsys):
    data = answers(study, "ann")
    item = next(iter(data["ratings"]))
    for bad, message in ((lambda d: d["ratings"].update(i999={}), "unknown item 'i999'"),
                         (lambda d: d["ratings"][item].update(Z={}), "has no answer 'Z'; answers: A, B, C"),
                         (lambda d: d["ratings"][item]["A"].update(tone=3), "unknown criterion 'tone'")):
        copy = json.loads(json.dumps(data))
        bad(copy)
        assert main(["study", "collect", str(study), write(tmp_path, "x.json", copy)]) == 2
        assert message in capsys.readouterr().err
    one = write(tmp_path, "1.json", data)
    assert main(["study", "collect", str(study), one, write(tmp_path, "2.json", data)]) == 2
    assert "rater 'ann' has two answer files" in capsys.readouterr().err


def test_a_changed_key_is_refused(study, tmp_path, capsys):
    path = write(tmp_path, "a.json", answers(study, "ann"))
    key = json.loads((study / "key.json").read_text())
    item = next(iter(key["items"].values()))
    item["slots"]["A"], item["slots"]["B"] = item["slots"]["B"], item["slots"]["A"]
    (study / "key.json").write_text(json.dumps(key, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    assert main(["study", "collect", str(study), path]) == 2
    err = capsys.readouterr().err
    assert "key.json was changed after the study was made" in err
    assert err.count("\n") == 1


def forge(study: Path, **changes) -> None:
    """study.json edited and both hashes made to agree again (what a careful forger would do)."""
    manifest = {**json.loads((study / "study.json").read_text()), **changes}
    key = {**json.loads((study / "key.json").read_text()), "study_sha256": study_sha256(manifest)}
    manifest["key_sha256"] = sha256(dumps(key))
    (study / "study.json").write_text(dumps(manifest))
    (study / "key.json").write_text(dumps(key))


def test_collect_writes_only_in_the_study_folder_or_where_o_says(study, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    forge(study, runs=str(elsewhere))  # not where the runs are: a path read from a file is never written to
    path = write(tmp_path, "a.json", answers(study, "ann"))
    assert main(["study", "collect", str(study), path, "--bootstrap_iters", "50"]) == 0
    study_id = json.loads((study / "study.json").read_text())["id"]
    assert list(elsewhere.iterdir()) == []
    assert (study / f"qx_human_ratings_{study_id}.json").is_file()
    out = tmp_path / "site-runs"
    out.mkdir()
    assert main(["study", "collect", str(study), path, "--bootstrap_iters", "50", "-o", str(out)]) == 0
    assert [p.name for p in out.iterdir()] == [f"qx_human_ratings_{study_id}.json"]


def test_a_study_id_that_is_not_hex_is_refused(study, tmp_path, capsys):
    path = write(tmp_path, "a.json", answers(study, "ann"))
    forge(study, id="../../x")
    assert main(["study", "collect", str(study), path]) == 2
    err = capsys.readouterr().err
    assert f"{study / 'study.json'}: id is \"../../x\", expected 12 hex digits" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "x.json").exists()
    assert not list(tmp_path.glob("**/*x.json"))


def test_an_edited_study_json_is_refused(study, tmp_path, capsys):
    path = write(tmp_path, "a.json", answers(study, "ann"))
    manifest = json.loads((study / "study.json").read_text())
    (study / "study.json").write_text(dumps({**manifest, "runs": "/etc"}))
    assert main(["study", "collect", str(study), path]) == 2
    err = capsys.readouterr().err
    assert "study.json was changed after the study was made" in err
    assert err.count("\n") == 1
    assert not list(study.glob("qx_human_ratings_*"))


def test_a_key_made_before_study_json_was_covered_is_one_line(study, tmp_path, capsys):
    path = write(tmp_path, "a.json", answers(study, "ann"))
    key = json.loads((study / "key.json").read_text())
    (study / "key.json").write_text(dumps({**key, "schema": "qxbench-study-key/1"}))
    assert main(["study", "collect", str(study), path]) == 2
    err = capsys.readouterr().err
    assert "expected 'qxbench-study-key/3' or 'qxbench-study-key/2' (a study made before" in err
    assert err.count("\n") == 1


def test_an_answer_file_without_ratings_is_refused(study, tmp_path, capsys):
    full = write(tmp_path, "a.json", answers(study, "ann"))
    empty = write(tmp_path, "b.json", answers(study, "bob", keep=0))
    assert main(["study", "collect", str(study), full, empty]) == 2
    err = capsys.readouterr().err
    assert f"answers file {empty} holds no ratings (0 of 72)" in err
    assert err.count("\n") == 1
    assert not list(study.glob("qx_human_ratings_*"))


def test_an_earlier_ratings_file_is_never_overwritten(study, tmp_path, capsys):
    a = write(tmp_path, "a.json", answers(study, "ann"))
    b = write(tmp_path, "b.json", answers(study, "bob", shift=1))
    assert main(["study", "collect", str(study), a, "--bootstrap_iters", "50"]) == 0
    (ratings,) = study.glob("qx_human_ratings_*.json")
    before = ratings.read_text()
    assert main(["study", "collect", str(study), b, "--bootstrap_iters", "50"]) == 2
    err = capsys.readouterr().err
    assert f"{ratings} already exists" in err
    assert "--force" in err
    assert err.count("\n") == 1
    assert ratings.read_text() == before
    assert main(["study", "collect", str(study), b, "--bootstrap_iters", "50", "--force"]) == 0
    assert ratings.read_text() != before
    assert [p.name for p in study.glob("*.tmp")] == []


def test_a_link_in_place_of_the_ratings_file_is_not_followed(study, tmp_path, capsys):
    a = write(tmp_path, "a.json", answers(study, "ann"))
    study_id = json.loads((study / "study.json").read_text())["id"]
    target = tmp_path / "target.json"
    (study / f"qx_human_ratings_{study_id}.json").symlink_to(target)
    assert main(["study", "collect", str(study), a, "--bootstrap_iters", "50"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert not target.exists()
    assert main(["study", "collect", str(study), a, "--bootstrap_iters", "50", "--force"]) == 0
    assert not target.exists()
    assert not (study / f"qx_human_ratings_{study_id}.json").is_symlink()


def _no_outputs(manifest: dict) -> None:
    del manifest["items"][2]["outputs"]


@pytest.mark.parametrize(("edit", "message"), [
    (lambda m: m.update(scale="one to five"), 'scale is "one to five", expected [low, high]'),
    (_no_outputs, "items[2].outputs is missing, expected a list of answers"),
    (lambda m: m.pop("key_sha256"), "key_sha256 is missing, expected the key's SHA-256"),
    (lambda m: m["families"]["explanation"]["criteria"][0].pop("label"),
     "families.explanation.criteria[0].label is missing, expected text"),
    (lambda m: m.update(items=[]), "items is [], expected at least one item"),
])
def test_a_study_json_of_another_shape_is_one_line(study, tmp_path, capsys, edit, message):
    path = write(tmp_path, "a.json", answers(study, "ann"))
    manifest = json.loads((study / "study.json").read_text())
    edit(manifest)
    (study / "study.json").write_text(dumps(manifest))
    assert main(["study", "collect", str(study), path]) == 2
    err = capsys.readouterr().err
    assert f"{study / 'study.json'}: {message}" in err
    assert err.count("\n") == 1


def test_bfloat16_configs_are_compared_with_bfloat16_full_precision(tmp_path, capsys):
    """As on the leaderboard, runs of two dtypes are never paired: a bfloat16 config's items show fp-bfloat16,
    not float32's fp, and its difference is taken to fp-bfloat16 (the key names each item's baseline)."""
    from tests.leaderboard.conftest import write_run
    from tests.study.conftest import write_samples

    root = tmp_path / "runs"
    for i, (name, quant, bits, dtype) in enumerate((("fp", "none", None, None), ("nf4", "bnb-nf4", 4, None),
                                                     ("fp16", "none", None, "bfloat16"),
                                                     ("rtn16", "rtn", 4, "bfloat16"))):
        stamp = f"2026-11-23T10-0{i}-00.000000"
        write_run(root / name, quant=quant, bits=bits, dtype=dtype, stamp=stamp, samples=False,
                  per_doc={"nle_sim": {"acc": [1.0] * 6}})
        write_samples(root / name, stamp, "nle_sim", name, list(range(6)))
    out = tmp_path / "study"
    assert main(["study", "make", str(root), "-o", str(out), "--items", "6"]) == 0
    key = json.loads((out / "key.json").read_text())
    groups = sorted({(e["baseline"], *sorted(e["slots"].values())) for e in key["items"].values()})
    assert groups == [("fp", "bnb-nf4-4b", "fp"), ("fp-bfloat16", "fp-bfloat16", "rtn-4b-bfloat16")]
    score = {"fp": 4, "bnb-nf4-4b": 2, "fp-bfloat16": 5, "rtn-4b-bfloat16": 3}
    manifest = json.loads((out / "study.json").read_text())
    ratings = {}
    for item in manifest["items"]:
        criteria = [c["name"] for c in manifest["families"][item["family"]]["criteria"]]
        slots = key["items"][item["id"]]["slots"]
        ratings[item["id"]] = {o["slot"]: {c: score[slots[o["slot"]]] for c in criteria} for o in item["outputs"]}
    a = write(tmp_path, "a.json", {"schema": "qxbench-study-answers/1", "study_id": manifest["id"], "rater": "ann",
                                    "ratings": ratings})
    assert main(["study", "collect", str(out), a, "--bootstrap_iters", "200", "-o", str(tmp_path)]) == 0
    capsys.readouterr()
    rows = {r["config"]: r for r in json.loads(next(tmp_path.glob("qx_human_ratings_*.json")).read_text())["rows"]
            if r["criterion"] == "coherence"}
    assert rows["rtn-4b-bfloat16"]["diff"] == pytest.approx(-2.0)  # against fp-bfloat16's 5, not fp's 4
    assert rows["bnb-nf4-4b"]["diff"] == pytest.approx(-2.0)
    assert rows["fp-bfloat16"]["diff"] is None and rows["fp"]["diff"] is None


def test_a_key_whose_baseline_is_not_among_its_configs_is_one_line(study, tmp_path, capsys):
    key = json.loads((study / "key.json").read_text())
    first = next(iter(key["items"]))
    key["items"][first]["baseline"] = "fp-float16"
    manifest = json.loads((study / "study.json").read_text())
    key["study_sha256"] = study_sha256(manifest)
    (study / "key.json").write_text(dumps(key))
    (study / "study.json").write_text(dumps({**manifest, "key_sha256": sha256(dumps(key))}))
    path = write(tmp_path, "a.json", answers(study, "ann"))
    assert main(["study", "collect", str(study), path]) == 2
    err = capsys.readouterr().err
    assert f"items.{first}.baseline is \"fp-float16\", expected one of its slots' configs" in err
    assert err.count("\n") == 1
