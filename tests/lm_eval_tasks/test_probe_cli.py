"""The probes as users run them: stock lm_eval from outside the repo, and bad data."""

from __future__ import annotations

import json

import pytest

from tests.conftest import console_script, run_cli

pytestmark = pytest.mark.slow


def test_the_headline_command_runs_all_four_probes(tmp_path):
    out = run_cli([console_script("lm_eval"), "--model", "qx", "--tasks", "cf_flip,nle_sim,memorize,multihop",
                   "--limit", "4", "--output_path", str(tmp_path / "out"), "--log_samples"], cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    for task in ("cf_flip", "nle_sim", "memorize", "multihop"):
        assert task in out.stdout
    results = json.loads(next((tmp_path / "out").rglob("results_*.json")).read_text())
    assert results["results"]["multihop"]["acc_r1,none"] == 1.0
    assert results["config"]["qx"]["quant"] == "none"
    assert len(list((tmp_path / "out").rglob("samples_*.jsonl"))) == 4


def _last_error(tmp_path, task: str, data, **metadata) -> str:
    out = run_cli([console_script("lm_eval"), "--model", "qx", "--tasks", task, "--limit", "2", "--metadata",
                   json.dumps({"data_path": str(data), **metadata}), "--device", "cpu"], cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-2000:]
    return out.stderr.strip().splitlines()[-1]


def test_a_dataset_missing_a_required_field_is_one_line(tmp_path):
    data = tmp_path / "sst2.jsonl"
    data.write_text(json.dumps({"idx": 0, "text": "The soup was warm.", "label": 1}) + "\n")
    last = _last_error(tmp_path, "cf_flip_sst2", data)
    assert last.startswith("lm_eval: error: ")
    assert "'sentence'" in last
    assert str(data) in last


def test_num_fewshot_larger_than_the_pool_is_one_line(tmp_path):
    data = tmp_path / "sst2.jsonl"
    data.write_text("".join(json.dumps({"sentence": f"Review {i}.", "label": i % 2}) + "\n" for i in range(3)))
    assert _last_error(tmp_path, "cf_flip_sst2", data, num_fewshot=3) == (
        "lm_eval: error: num_fewshot 3 is larger than the pool: the split has 3 document(s), and at least one must "
        "be left to evaluate (choose num_fewshot <= 2)")


def test_an_offline_hub_variant_names_the_dataset_and_the_local_option(tmp_path):
    out = run_cli([console_script("lm_eval"), "--model", "qx", "--tasks", "cf_flip_sst2", "--limit", "1",
                   "--device", "cpu"], cwd=tmp_path, env={"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("lm_eval: error: Dataset 'stanfordnlp/sst2' could not be loaded from the Hub")
    assert "--metadata '{\"data_path\": \"/path/to/sst2.jsonl\"}'" in last


def test_a_probe_with_another_model_is_one_line(tmp_path, embedded_path):
    out = run_cli([console_script("lm_eval"), "--model", "hf", "--model_args", f"pretrained={embedded_path}",
                   "--tasks", "calib", "--limit", "1", "--device", "cpu"], cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1] == (
        "lm_eval: error: this task sends 'qx_next_token' requests, which only `--model qx` answers "
        "(got model class HFLM); run it with --model qx")
