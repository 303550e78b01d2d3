from __future__ import annotations

import json
import os

import pytest

from tests.conftest import console_script, run_cli


def test_version_prints_the_installed_version(tmp_path):
    from importlib.metadata import version

    out = run_cli([console_script("qxbench"), "--version"], cwd=tmp_path)
    assert out.returncode == 0
    assert out.stdout.strip() == f"qxbench {version('qxbench')}"


def test_tasks_lists_only_qxbench_tasks(tmp_path):
    out = run_cli([console_script("qxbench"), "tasks"], cwd=tmp_path)
    assert out.returncode == 0
    names = [line.split()[0] for line in out.stdout.splitlines()]
    assert {"world_onehop", "world_twohop", "world_sentiment", "qx_world"} <= set(names)
    assert "hellaswag" not in names


def test_eval_unknown_task_suggests_and_exits_2(tmp_path):
    out = run_cli([console_script("qxbench"), "eval", "--model", "qx", "--tasks", "world_onehp"], cwd=tmp_path)
    assert out.returncode == 2
    from qxbench._lmeval_hook import qx_task_index

    available = ", ".join(sorted(qx_task_index()))
    assert "cf_flip" in available
    assert "qx_probes" in available
    assert "world_onehop" in available
    assert out.stderr.strip() == (
        f"qxbench: error: Unknown task 'world_onehp'. Did you mean 'world_onehop'? Available: {available}"
    )


@pytest.mark.slow
def test_eval_unknown_model_path_is_one_line(tmp_path):
    out = run_cli([console_script("qxbench"), "eval", "--model", "qx", "--model_args", "pretrained=/no/such/model",
                   "--tasks", "world_onehop", "--limit", "1", "--device", "cpu"], cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("qxbench: error: Unknown model '/no/such/model'")


@pytest.mark.slow
def test_eval_writes_results_with_the_qx_block(tmp_path):
    out = run_cli([console_script("qxbench"), "eval", "--model", "qx", "--tasks", "world_sentiment", "--limit", "8",
                   "--device", "cpu", "--output_path", str(tmp_path / "out"), "--log_samples"], cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    (results,) = (tmp_path / "out").rglob("results_*.json")
    data = json.loads(results.read_text())
    assert data["results"]["world_sentiment"]["acc,none"] >= 0.0
    assert data["config"]["qx"]["quant"] == "none"
    assert data["config"]["model"] == "qx"
    assert list((tmp_path / "out").rglob("samples_world_sentiment_*.jsonl"))


@pytest.mark.slow
def test_info_describes_the_embedded_model(tmp_path):
    out = run_cli([console_script("qxbench"), "info", "qx-tiny"], cwd=tmp_path, env={"COLUMNS": "120"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "quantized_linear_layers" in out.stdout
    assert "LlamaForCausalLM" in out.stdout


@pytest.mark.slow
def test_quantize_then_cache_ls_and_rm(tmp_path):
    env = {"QXBENCH_CACHE": str(tmp_path / "cache"), "COLUMNS": "160", "QXBENCH_LOG": str(tmp_path / "log"),
           "QX_VERBOSE": ""}
    qx = console_script("qxbench")
    args = [qx, "quantize", "qx-tiny", "--model_args", "quant=gptq,bits=4,calib_samples=8"]
    out = run_cli(args, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "cache_hit" in out.stdout
    assert "False" in out.stdout
    assert "Quantizing 1 module(s)" not in out.stdout + out.stderr  # llm-compressor's per-module log
    assert "Quantizing 1 module(s)" in (tmp_path / "log").read_text()
    listing = run_cli([qx, "cache", "ls"], cwd=tmp_path, env=env).stdout.splitlines()
    (key,) = [line.split()[0] for line in listing if not line.startswith("#")]
    assert " gptq bits=4 group_size=128 " in listing[1]
    assert run_cli([qx, "cache", "rm", key], cwd=tmp_path, env=env).returncode == 0
    gone = run_cli([qx, "cache", "rm", key], cwd=tmp_path, env=env)
    assert gone.returncode == 2
    assert gone.stderr.strip() == f"qxbench: error: No cache entry '{key}'. Entries: (none)"


def test_quantize_without_quant_is_refused(tmp_path):
    out = run_cli([console_script("qxbench"), "quantize", "qx-tiny"], cwd=tmp_path)
    assert out.returncode == 2
    assert "needs --model_args quant=" in out.stderr


@pytest.mark.slow
@pytest.mark.parametrize("quant", ["bnb-nf4", "gptq"])
def test_eval_a_task_on_a_quantized_model(tmp_path, quant, shared_quant_cache):
    """End to end through lm-eval: the results file says what was really evaluated (gptq's checkpoint is
    tests/quant/test_prequantized_and_rtn.py's, from the run's shared cache)."""
    args = ["eval", "--model", "qx", "--model_args", f"quant={quant},calib_samples=16", "--tasks", "world_sentiment",
            "--limit", "8", "--device", "cpu", "--output_path", str(tmp_path / "out")]
    out = run_cli([console_script("qxbench"), *args], cwd=tmp_path, env={"QXBENCH_CACHE": str(shared_quant_cache)})
    assert out.returncode == 0, out.stderr[-3000:]
    (results,) = (tmp_path / "out").rglob("results_*.json")
    data = json.loads(results.read_text())
    qx = data["config"]["qx"]
    assert qx["quant"] == quant
    assert qx["bits"] == 4
    assert qx["summary"]["quantized_linear_layers"] == 28
    assert data["config"]["model_args"]["quant"] == quant
    assert 0.0 <= data["results"]["world_sentiment"]["acc,none"] <= 1.0


def _lre(directory, relations):
    for name, (template, domain, range_, samples) in relations.items():
        path = directory / "factual" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"name": name, "prompt_templates": [template],
                                    "properties": {"domain_name": domain, "range_name": range_, "symmetric": False},
                                    "samples": [{"subject": s, "object": o} for s, o in samples]}))
    return directory


def test_data_twohop_writes_the_same_csv_twice(tmp_path):
    lre = _lre(tmp_path / "lre", {
        "food_from_country": ("{} is from the country of", "food", "country", [("Pizza", "Italy"), ("Sushi", "Japan")]),
        "country_capital_city": ("The capital city of {} is", "country", "city",
                                 [("Italy", "Rome"), ("Japan", "Tokyo")])})
    qx = console_script("qxbench")
    first = run_cli([qx, "data", "twohop", "--lre", str(lre), "-o", "a.csv"], cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.splitlines() == ["food_from_country -> country_capital_city: 2", "2 chains -> a.csv"]
    again = run_cli([qx, "data", "twohop", "--lre", str(lre), "-o", "b.csv", "--max-per-pair", "5", "--seed", "1"],
                    cwd=tmp_path)
    assert again.returncode == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert "The capital city of the country Pizza is from is" in (tmp_path / "a.csv").read_text()


def test_data_twohop_bad_input_is_one_line_and_exit_2(tmp_path):
    qx = console_script("qxbench")
    missing = run_cli([qx, "data", "twohop", "--lre", "no/such/dir", "-o", "a.csv"], cwd=tmp_path)
    assert missing.returncode == 2
    assert (missing.stderr.strip() == (
        "qxbench: error: --lre 'no/such/dir' is not a .json file or a directory of them"))
    lre = _lre(tmp_path / "lre", {"name_gender": ("{} is a name for a", "name", "gender", [("Lisa", "woman")])})
    none = run_cli([qx, "data", "twohop", "--lre", str(lre), "-o", "a.csv"], cwd=tmp_path)
    assert none.returncode == 2
    assert len(none.stderr.strip().splitlines()) == 1
    assert none.stderr.startswith("qxbench: error: No composable relation pairs among name_gender: ")
    assert not (tmp_path / "a.csv").exists()


def test_eval_help_names_itself(tmp_path):
    out = run_cli([console_script("qxbench"), "eval", "--help"], cwd=tmp_path)
    assert out.returncode == 0
    assert out.stdout.startswith("usage: qxbench eval --model qx --tasks")
    assert "lm-eval run" not in out.stdout


NOISE = ("torchao", "_pytree", "Custom kwargs can be passed to `--metadata`", "Running loglikelihood requests")


@pytest.fixture(scope="module")
def cf_flip_run(tmp_path_factory):
    """One quiet run of a probe with the default model (no pretrained=): stderr, output folder."""
    tmp = tmp_path_factory.mktemp("cf_flip_run")
    out = run_cli([console_script("qxbench"), "eval", "--model", "qx", "--tasks", "cf_flip", "--limit", "2",
                   "--device", "cpu", "--output_path", str(tmp / "out"), "--log_samples"], cwd=tmp,
                  env={"QX_VERBOSE": "", "QXBENCH_LOG": ""})
    assert out.returncode == 0, out.stderr[-3000:]
    return out, tmp / "out"


@pytest.mark.slow
def test_a_run_with_the_default_model_is_named_qx_tiny(cf_flip_run):
    _, out = cf_flip_run
    assert [p.name for p in out.iterdir() if p.is_dir()] == ["qx-tiny"]
    (results,) = (out / "qx-tiny").glob("results_*.json")
    assert json.loads(results.read_text())["model_name"] == "qx-tiny"


@pytest.mark.slow
def test_library_noise_goes_to_the_log_file_named_in_one_line(cf_flip_run):
    run, out = cf_flip_run
    log = out / "qxbench.log"
    assert f"qxbench: library warnings and logs -> {log} (qxbench -v or QX_VERBOSE=1 shows them here)" in run.stderr
    assert [n for n in NOISE[:3] if n in run.stderr] == []
    kept = log.read_text()
    assert "WARNING torchao" in kept
    assert "torch.utils._pytree" in kept
    assert "Custom kwargs can be passed" in kept


@pytest.mark.slow
def test_every_probe_phase_has_a_bar_counting_documents(cf_flip_run):
    run, _ = cf_flip_run
    for phase in ("classify", "rewrite", "classify rewrites", "perplexity"):
        assert f"cf_flip · {phase}: 100%" in run.stderr and "| 2/2 [" in run.stderr, phase
    assert "reference perplexity" not in run.stderr  # full precision is its own reference: not run twice
    assert "Running loglikelihood requests" not in run.stderr  # lm-eval's inner bars are off inside a phase


@pytest.mark.slow
def test_a_run_says_it_loads_and_where_its_results_went(cf_flip_run):
    """A newcomer sees the load phase, then the results file, the samples, the log and what the
    headline metric means (issue 28)."""
    run, out = cf_flip_run
    (results,) = (out / "qx-tiny").glob("results_*.json")
    stamp = results.stem.removeprefix("results_")
    assert "qxbench: loading qx-tiny (full precision) ..." in run.stderr
    assert f"qxbench: results -> {results}" in run.stderr
    assert f"qxbench: samples -> {results.parent}/samples_*_{stamp}.jsonl (1 file)" in run.stderr
    assert f"qxbench: log     -> {out / 'qxbench.log'}" in run.stderr
    flips = json.loads(results.read_text())["results"]["cf_flip"]["flip_rate,none"]  # full precision: not agree_fp
    assert any(line.split()[:3] == ["cf_flip", "flip_rate", f"{flips:.4f}"] and "own label" in line
               for line in run.stderr.splitlines()), run.stderr[-1500:]


def test_a_run_without_output_path_says_nothing_was_written(monkeypatch, capsys):
    from qxbench import run_report

    run_report.report(["--model", "qx", "--tasks", "cf_flip"], since=0.0)
    assert "no --output_path, so nothing was written" in capsys.readouterr().err


@pytest.mark.slow
def test_a_reserved_metadata_key_is_one_line(tmp_path):
    out = run_cli([console_script("qxbench"), "eval", "--model", "qx", "--tasks", "world_onehop", "--limit", "1",
                   "--device", "cpu", "--metadata", '{"name": "x"}'], cwd=tmp_path,
                  env={"QXBENCH_LOG": str(tmp_path / "log")})
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1] == (
        "qxbench: error: --metadata key 'name' is reserved by lm-eval or qxbench (reserved: config_source, name, "
        "split, version); the probe options are listed in each task's README")


@pytest.mark.slow
def test_ctrl_c_ends_with_one_line_and_exit_130(tmp_path):
    import signal
    import subprocess

    # enough documents that the run is still going when the signal lands, however slowly stderr is read
    proc = subprocess.Popen([console_script("qxbench"), "eval", "--model", "qx", "--tasks", "cf_flip", "--limit", "400",
                             "--device", "cpu"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "QXBENCH_LOG": str(tmp_path / "log")},
                            # as from a terminal: a shell's background job inherits SIGINT ignored, and Python
                            # then installs no KeyboardInterrupt handler
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = []
    for line in proc.stderr:  # interrupt in the middle of the probe
        seen.append(line)
        if "cf_flip · classify" in line:
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stderr.read()
    assert proc.wait(60) == 130, "".join(seen) + rest
    assert "Traceback" not in rest
    assert rest.strip().splitlines()[-1] == "qxbench: interrupted"


def test_dash_v_keeps_library_messages_on_the_terminal(monkeypatch):
    import qxbench.cli
    from qxbench.logs import ENV_VERBOSE, verbose

    monkeypatch.delenv(ENV_VERBOSE, raising=False)
    seen = []
    monkeypatch.setattr(qxbench.cli, "cmd_eval", lambda argv: seen.append((argv, verbose())) or 0)
    assert qxbench.cli.main(["-v", "eval", "--tasks", "cf_flip"]) == 0
    assert seen == [(["--tasks", "cf_flip"], True)]
    monkeypatch.delenv(ENV_VERBOSE, raising=False)


def test_ctrl_c_in_any_command_is_one_line(monkeypatch, capsys):
    import qxbench.cli

    def interrupt(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(qxbench.cli, "cmd_tasks", interrupt)
    try:
        assert qxbench.cli.main(["tasks"]) == 130
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped qxbench.cli.main")
    assert capsys.readouterr().err.strip() == "qxbench: interrupted"  # on a line of its own
