"""qxbench sweep: full precision + quantized configs in one command, straight into a leaderboard."""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path

import pytest

from leaderboard.sweep.plan import parse_configs
from qxbench.cli import main
from qxbench.errors import QxError


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (``from a import b`` gives a and a.b)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return found


def test_the_leaderboard_never_imports_qxbench_cli():
    """qxbench.cli registers the leaderboard's commands: the dependency runs one way only (no cycle)."""
    package = Path(importlib.util.find_spec("leaderboard").origin).parent
    files = sorted(package.rglob("*.py"))  # every room
    assert len(files) >= 8
    offenders = [f.name for f in files if "qxbench.cli" in _imports(f)]
    assert offenders == []
    assert "leaderboard.cli" in _imports(package.parent / "qxbench" / "cli.py")  # the one direction kept


def test_qxbench_s_library_never_imports_the_leaderboard():
    """Data flows one way: qxbench's library (adapter, quant, probes, tasks) -> leaderboard -> the
    commands. Only the program's entry point (qxbench/cli.py, which registers every command) and the
    rating study (which reads the leaderboard's runs) sit above the leaderboard."""
    root = Path(importlib.util.find_spec("qxbench").origin).parent
    above = {root / "cli.py", *(root / "study").glob("*.py")}
    files = [*root.rglob("*.py"), *Path(importlib.util.find_spec("lm_eval_tasks").origin).parent.rglob("*.py")]
    offenders = [str(f) for f in files if f not in above and any(m.split(".")[0] == "leaderboard" for m in _imports(f))]
    assert len(files) > 40
    assert offenders == []


def test_configs_parse_and_full_precision_comes_first(capsys):
    assert parse_configs("bnb-nf4,gptq:bits=4:group_size=64") == [
        {"quant": "none"}, {"quant": "bnb-nf4"}, {"quant": "gptq", "bits": "4", "group_size": "64"}]
    assert "adding quant=none" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "message"), [("gtpq", "Unknown quantizer 'gtpq'"),
                                               ("gptq:bitz=4", "options are bits=N and group_size=N"),
                                               ("gptq:bits=four", "must be whole numbers")])
def test_bad_configs_are_refused_before_anything_runs(text, message):
    with pytest.raises(QxError, match=message):
        parse_configs(text)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("bitsandbytes") is None, reason="bitsandbytes not installed")
def test_one_command_from_models_to_site(tmp_path, monkeypatch):
    monkeypatch.setenv("QXBENCH_CACHE", str(tmp_path / "cache"))
    code = main(["sweep", "--quants", "none,bnb-nf4", "--tasks", "multihop,memorize", "--limit", "4",
                 "--output_path", str(tmp_path / "runs"), "--site", str(tmp_path / "site")])
    assert code == 0
    cells = json.loads((tmp_path / "site" / "leaderboard.json").read_text())
    nf4 = [c for c in cells if c["config"] == "bnb-nf4-4b"]
    assert {c["task"] for c in nf4} == {"multihop", "memorize"}
    assert all(c["n"] == 4 for c in nf4)
    overlap = next(c for c in nf4 if c["metric"] == "top300_overlap")
    assert overlap["baseline"] == 1.0
    assert overlap["value"] < 1.0  # 4-bit moves the attribution


def _fake_eval(calls: list[list[str]]):
    """Stands in for `qxbench eval`: records the argv and writes a results file where lm-eval would."""
    def run(argv):
        calls.append(list(argv))
        out = Path(argv[argv.index("--output_path") + 1]) / "qx-tiny"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"results_{len(calls)}.json").write_text("{}")
        return 0

    return run


def test_a_sweep_skips_configs_whose_results_exist_from_the_same_arguments(tmp_path, monkeypatch, capsys):
    import qxbench.lmeval.eval_cli

    calls: list[list[str]] = []
    monkeypatch.setattr(qxbench.lmeval.eval_cli, "cmd_eval", _fake_eval(calls))
    sweep = ["sweep", "--quants", "none", "--tasks", "memorize", "--limit", "2", "--output_path", str(tmp_path)]
    assert main(sweep) == 0
    assert len(calls) == 1
    [manifest] = json.loads((tmp_path / "fp" / "qx_sweep.json").read_text())
    assert manifest["argv"] == calls[0]
    assert manifest["limit"] == 2
    assert manifest["qxbench"]
    capsys.readouterr()
    assert main(sweep) == 0
    assert len(calls) == 1
    assert "skip fp: results exist for --tasks memorize (fp/qx_sweep.json); --force to redo" in capsys.readouterr().out
    assert main([*sweep, "--force"]) == 0
    assert len(calls) == 2
    assert main([*sweep[:-4], "--limit", "3", "--output_path", str(tmp_path)]) == 0
    assert len(calls) == 3  # changed


def test_a_config_run_in_parts_keeps_each_part_done(tmp_path, monkeypatch, capsys):
    """A config run as --tasks memorize, then --tasks multihop (the 1.5B's probes, to fit a session): a third
    sweep of either part skips it, where one manifest record made the first part run again."""
    import qxbench.lmeval.eval_cli

    calls: list[list[str]] = []
    monkeypatch.setattr(qxbench.lmeval.eval_cli, "cmd_eval", _fake_eval(calls))
    part = ["sweep", "--quants", "none", "--limit", "2", "--output_path", str(tmp_path), "--tasks"]
    assert main([*part, "memorize"]) == 0
    assert main([*part, "multihop"]) == 0
    assert len(calls) == 2
    capsys.readouterr()
    assert main([*part, "memorize"]) == 0
    assert main([*part, "multihop"]) == 0
    assert len(calls) == 2
    skipped = capsys.readouterr().out  # each skip names its own part, never the other part's results
    assert "skip fp: results exist for --tasks memorize (fp/qx_sweep.json)" in skipped
    assert "skip fp: results exist for --tasks multihop (fp/qx_sweep.json)" in skipped
    records = json.loads((tmp_path / "fp" / "qx_sweep.json").read_text())
    assert [r["tasks"] for r in records] == ["memorize", "multihop"]
    assert main([*part, "memorize", "--force"]) == 0  # the same part again replaces its record
    assert [r["tasks"] for r in json.loads((tmp_path / "fp" / "qx_sweep.json").read_text())] == ["multihop", "memorize"]


def test_an_older_single_record_manifest_is_read(tmp_path, monkeypatch, capsys):
    """Manifests written before records were kept per part hold one object; the committed runs have them."""
    import qxbench.lmeval.eval_cli

    calls: list[list[str]] = []
    monkeypatch.setattr(qxbench.lmeval.eval_cli, "cmd_eval", _fake_eval(calls))
    sweep = ["sweep", "--quants", "none", "--tasks", "memorize", "--limit", "2", "--output_path", str(tmp_path)]
    assert main(sweep) == 0
    path = tmp_path / "fp" / "qx_sweep.json"
    path.write_text(json.dumps(json.loads(path.read_text())[0]))
    assert main(sweep) == 0
    assert len(calls) == 1
    path.write_text("[")  # unreadable: run again, never taken as done
    assert main(sweep) == 0
    assert len(calls) == 2


def test_an_interrupted_config_is_run_again(tmp_path, monkeypatch, capsys):
    """No manifest is written for a run that did not end: its partial results are never taken as done."""
    import qxbench.lmeval.eval_cli

    def interrupted(argv):
        (tmp_path / "fp" / "qx-tiny").mkdir(parents=True)
        (tmp_path / "fp" / "qx-tiny" / "results_0.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(qxbench.lmeval.eval_cli, "cmd_eval", interrupted)
    sweep = ["sweep", "--quants", "none", "--tasks", "memorize", "--output_path", str(tmp_path)]
    try:
        assert main(sweep) == 130
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped qxbench.cli.main")
    assert capsys.readouterr().err.strip() == "qxbench: interrupted"
    calls: list[list[str]] = []
    monkeypatch.setattr(qxbench.lmeval.eval_cli, "cmd_eval", _fake_eval(calls))
    assert main(sweep) == 0
    assert len(calls) == 1


def test_metadata_reaches_every_config_and_bad_metadata_is_one_line(tmp_path, monkeypatch, capsys):
    import qxbench.lmeval.eval_cli

    calls: list[list[str]] = []
    monkeypatch.setattr(qxbench.lmeval.eval_cli, "cmd_eval", _fake_eval(calls))
    metadata = {"data_path": "d/", "multihop_lre": {"data_path": "chains.csv"}}
    sweep = ["sweep", "--quants", "none,rtn:bits=4", "--tasks", "memorize", "--output_path", str(tmp_path)]
    assert main([*sweep, "--metadata", json.dumps(metadata)]) == 0
    assert len(calls) == 2
    assert all(json.loads(argv[argv.index("--metadata") + 1]) == metadata for argv in calls)
    assert json.loads((tmp_path / "rtn-4b" / "qx_sweep.json").read_text())[-1]["metadata"] == metadata
    assert main([*sweep, "--metadata", json.dumps({"data_path": "other/"})]) == 0
    assert len(calls) == 4  # changed
    capsys.readouterr()
    for bad, message in (("{data_path", "is not JSON"), ("[1]", "must be a JSON object")):
        assert main([*sweep, "--metadata", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err
        assert len(err.splitlines()) == 1


def test_two_configs_never_share_a_folder(tmp_path, monkeypatch):
    """rtn:bits=8 and rtn:group_size=8 were both `rtn-8`: the second overwrote the first's manifest."""
    import qxbench.lmeval.eval_cli

    calls: list[list[str]] = []
    monkeypatch.setattr(qxbench.lmeval.eval_cli, "cmd_eval", _fake_eval(calls))
    sweep = ["sweep", "--quants", "none,rtn:bits=8,rtn:group_size=8,gptq:bits=4:group_size=64", "--tasks", "memorize",
             "--output_path", str(tmp_path)]
    assert main(sweep) == 0
    assert len(calls) == 4
    outs = [argv[argv.index("--output_path") + 1] for argv in calls]
    assert [Path(o).name for o in outs] == ["fp", "rtn-8b", "rtn-g8", "gptq-4b-g64"]
    assert all((Path(o) / "qx_sweep.json").is_file() for o in outs)
    assert main(sweep) == 0
    assert len(calls) == 4  # a rerun skips every config: none overwrote another


def test_a_config_given_twice_is_refused(capsys):
    assert main(["sweep", "--quants", "rtn:bits=8,rtn:bits=08", "--output_path", "unused"]) == 2
    err = capsys.readouterr().err
    assert "'rtn:bits=08' is the config rtn-8b again" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("where", "message"), [("file", "is a file, not a directory"),
                                                ("file/runs", "'{tmp}/file' is a file, not a directory")])
def test_a_bad_output_path_is_refused_before_any_config_runs(tmp_path, monkeypatch, capsys, where, message):
    import qxbench.lmeval.eval_cli

    (tmp_path / "file").write_text("results of last week")
    calls: list[list[str]] = []
    monkeypatch.setattr(qxbench.lmeval.eval_cli, "cmd_eval", _fake_eval(calls))
    code = main(["sweep", "--quants", "none", "--tasks", "memorize", "--output_path", str(tmp_path / where)])
    err = capsys.readouterr().err
    assert code == 2
    assert calls == []
    assert message.format(tmp=tmp_path) in err
    assert (tmp_path / "file").read_text() == "results of last week"


@pytest.mark.parametrize(("flag", "value"), [("--limit", "0"), ("--limit", "-1"), ("--batch_size", "0")])
def test_a_bad_limit_or_batch_size_is_refused_before_any_config_runs(tmp_path, monkeypatch, capsys, flag, value):
    import qxbench.lmeval.eval_cli

    calls: list[list[str]] = []
    monkeypatch.setattr(qxbench.lmeval.eval_cli, "cmd_eval", _fake_eval(calls))
    code = main(["sweep", "--quants", "none", "--tasks", "memorize", "--output_path", str(tmp_path), flag, value])
    assert code == 2
    assert calls == []
    assert f"{flag} " in capsys.readouterr().err


def test_docs_runs_every_task_on_those_documents_only(tmp_path, monkeypatch):
    """--docs 100:200 is lm-eval's --samples with each task's indices 100..199 (a task left out of --samples
    would run on all its documents), recorded in the manifest; a rerun with other documents is not skipped."""
    import qxbench.lmeval.eval_cli

    calls: list[list[str]] = []
    monkeypatch.setattr(qxbench.lmeval.eval_cli, "cmd_eval", _fake_eval(calls))
    sweep = ["sweep", "--quants", "none", "--tasks", "cf_flip_sst2,nle_sim_ecqa", "--output_path", str(tmp_path)]
    assert main([*sweep, "--docs", "100:200"]) == 0
    (argv,) = calls
    assert "--limit" not in argv
    assert json.loads(argv[argv.index("--samples") + 1]) == {"cf_flip_sst2": list(range(100, 200)),
                                                             "nle_sim_ecqa": list(range(100, 200))}
    assert json.loads((tmp_path / "fp" / "qx_sweep.json").read_text())[-1]["docs"] == "100:200"
    assert main([*sweep, "--docs", "100:200"]) == 0
    assert len(calls) == 1  # the same documents: done
    assert main([*sweep, "--docs", "200:300"]) == 0
    assert len(calls) == 2


@pytest.mark.parametrize(("extra", "message"), [
    (["--docs", "200:100"], "--docs '200:100' must be START:END"),
    (["--docs", "100"], "--docs '100' must be START:END"),
    (["--docs=-5:10"], "--docs '-5:10' must be START:END"),
    (["--docs", "0:50", "--limit", "50"], "--docs 0:50 and --limit 50: give one"),
    (["--docs", "0:50", "--tasks", "qx_probes"], "--tasks 'qx_probes' is a tag: name its tasks"),
    (["--docs", "0:50", "--tasks", "cf_flop_sst2"], "--tasks 'cf_flop_sst2' is not a qxbench task")])
def test_bad_docs_are_one_line_before_any_config_runs(tmp_path, monkeypatch, capsys, extra, message):
    import qxbench.lmeval.eval_cli

    calls: list[list[str]] = []
    monkeypatch.setattr(qxbench.lmeval.eval_cli, "cmd_eval", _fake_eval(calls))
    argv = ["sweep", "--quants", "none", "--tasks", "memorize", "--output_path", str(tmp_path), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert calls == []
    assert message in err
    assert len(err.splitlines()) == 1
