"""benchmarks/checks/unchanged.py: a deliberate change inside the compared range is listed as expected, by
field name, and nothing else is."""

from __future__ import annotations

import json

from benchmarks.checks import unchanged


def test_field_name_reads_the_last_name_of_a_path():
    assert unchanged.field_name("doc 2.filtered_resps[0].value.pred_again") == "pred_again"
    assert unchanged.field_name("doc 0.resps[0][0].value.pred_again") == "pred_again"
    assert unchanged.field_name("doc 2.noise") == "noise"
    assert unchanged.field_name(".noise,none") == "noise"
    assert unchanged.field_name(".acc,none") == "acc"


def test_only_the_fields_of_a_deliberate_change_are_set_apart():
    changed = ["doc 2.resps[0][0].value.pred_again", "doc 2.noise", "doc 2.resps[0][0].value.pred"]
    kept, expected = unchanged.split_expected(changed, {"pred_again": "0347316", "noise": "0347316"})
    assert kept == ["doc 2.resps[0][0].value.pred"]  # the first label is not the noise floor's: a change
    assert expected == ["doc 2.resps[0][0].value.pred_again (0347316)", "doc 2.noise (0347316)"]
    assert unchanged.split_expected(changed, {}) == (changed, [])


def test_a_report_with_expected_fields_only_is_identical():
    task = {"metrics_changed": [], "documents_changed": 0, "expected": [".noise,none (0347316)"]}
    assert unchanged.identical({"config_qx": {"changed": []}, "tasks": {"t": task}})
    assert not unchanged.identical({"config_qx": {"changed": []}, "tasks": {"t": {**task, "documents_changed": 1}}})


def test_compare_sets_the_noise_floor_apart_and_counts_any_other_change(tmp_path):
    def side(name: str, again: int, pred: int = 0) -> tuple[dict, object]:
        out = tmp_path / name
        out.mkdir()
        answer = json.dumps({"schema": "qxbench-result/1", "value": {"pred": pred, "pred_again": again}})
        (out / "samples_t_x.jsonl").write_text(json.dumps({"doc_id": 2, "resps": [[answer]], "noise": again != pred}))
        return {"config": {"qx": {}}, "results": {"t": {"acc,none": 1.0, "noise,none": float(again != pred)}}}, out

    (a, out_a), (b, out_b) = side("before", 0), side("after", 1)
    expected = {"pred_again": "0347316", "noise": "0347316"}
    report = unchanged.compare(a, b, (out_a, out_b), expected)
    assert unchanged.identical(report), report
    assert len(report["tasks"]["t"]["expected"]) == 3  # the metric, the sample's flag and the logged label
    assert not unchanged.identical(unchanged.compare(a, b, (out_a, out_b)))  # nothing expected: a change
    (c, out_c) = side("label", 1, pred=1)
    assert not unchanged.identical(unchanged.compare(a, c, (out_a, out_c), expected))  # pred moved too
