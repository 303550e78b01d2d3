"""`lm_eval --model qx --tasks <ours>` works verbatim after install: no --include_path, no flags."""

from __future__ import annotations

import site
import sys
from pathlib import Path

import pytest

from tests.conftest import console_script, run_cli

PROBE = (
    "from lm_eval.api.registry import get_model, model_registry; "
    "get_model('qx'); print(len(model_registry), get_model('hf').__name__)"
)


def test_pth_file_is_installed():
    dirs = [Path(d) for d in [*site.getsitepackages(), site.getusersitepackages()]]
    assert any((d / "qxbench_lmeval.pth").is_file() for d in dirs), dirs


@pytest.mark.slow
def test_hook_registers_qx_and_keeps_builtin_models(tmp_path):
    out = run_cli([sys.executable, "-c", PROBE], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    count, hf = out.stdout.split()
    assert hf == "HFLM"
    assert int(count) > 30


def test_hook_can_be_disabled(tmp_path):
    out = run_cli([sys.executable, "-c", PROBE], cwd=tmp_path, env={"QXBENCH_NO_LMEVAL_HOOK": "1"})
    assert out.returncode != 0
    assert "no model for this name found" in out.stderr


def test_hook_does_not_import_lm_eval_or_torch_at_startup(tmp_path):
    code = "import sys; print(any(m.split('.')[0] in ('lm_eval', 'torch') for m in sys.modules))"
    assert run_cli([sys.executable, "-c", code], cwd=tmp_path).stdout.strip() == "False"


@pytest.mark.slow
def test_stock_lm_eval_cli_runs_a_qxbench_task(tmp_path):
    """The issue's exact smoke command: no --device, no --include_path, run from outside the repo."""
    out = run_cli([console_script("lm_eval"), "--model", "qx", "--tasks", "world_onehop", "--limit", "5"], cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "world_onehop" in out.stdout
    assert "acc" in out.stdout


@pytest.mark.slow
def test_stock_lm_eval_cli_qx_run_is_as_quiet_as_qxbench_eval(tmp_path):
    """The README's main command: lm-eval's unrelated --metadata warnings and git's complaint outside a
    repository go to the log file (named in one line), the results table to stdout."""
    log = tmp_path / "qx.log"
    command = [console_script("lm_eval"), "--model", "qx", "--tasks", "memorize", "--limit", "1", "--device", "cpu"]
    out = run_cli(command, cwd=tmp_path, env={"QXBENCH_LOG": str(log), "QX_VERBOSE": ""})
    assert out.returncode == 0, out.stderr[-3000:]
    assert "recall" in out.stdout
    assert f"qxbench: library warnings and logs -> {log}" in out.stderr
    assert "Custom kwargs" not in out.stderr
    assert "fatal: not a git repository" not in out.stderr
    assert "Custom kwargs" in log.read_text()


@pytest.mark.slow
def test_stock_lm_eval_cli_bad_model_path_is_one_line(tmp_path):
    out = run_cli([console_script("lm_eval"), "--model", "qx", "--model_args", "pretrained=/no/such/model",
                   "--tasks", "world_onehop", "--limit", "1", "--device", "cpu"], cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("lm_eval: error: Unknown model '/no/such/model'")


def test_late_install_rebinds_task_manager_everywhere():
    """Installed after lm-eval was imported (as `qxbench eval` may be), every alias gets the subclass."""
    import lm_eval.evaluator
    import lm_eval.tasks

    from qxbench import _lmeval_hook

    _lmeval_hook.install()
    assert lm_eval.tasks.TaskManager._qxbench
    assert lm_eval.evaluator.TaskManager is lm_eval.tasks.TaskManager


@pytest.mark.slow
def test_stock_lm_eval_cli_unknown_task_is_one_line(tmp_path):
    out = run_cli([console_script("lm_eval"), "--model", "qx", "--tasks", "world_onehp", "--limit", "1"], cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("lm_eval: error: Tasks not found: world_onehp. Did you mean 'world_onehop'?")


@pytest.mark.parametrize("key", ["name", "split", "version", "config_source"])
def test_a_reserved_metadata_key_is_one_line(key):
    import lm_eval.tasks

    from qxbench import _lmeval_hook
    from qxbench.errors import QxError

    _lmeval_hook.install()
    with pytest.raises(QxError, match=rf"^--metadata key '{key}' is reserved by lm-eval or qxbench \(reserved: "):
        lm_eval.tasks.TaskManager(include_defaults=False, metadata={key: "x", "data_path": "d.csv"})
    _lmeval_hook.check_metadata({"data_path": "d.csv", "pretrained": "qx-tiny", "top_k": 3})  # probe options pass


@pytest.mark.slow
def test_python_m_lm_eval_gets_the_same_wrapper(tmp_path):
    """``python -m lm_eval`` (what ``accelerate launch -m lm_eval`` runs): runpy executes the module's code
    as ``__main__``, so the import callback alone would miss it; bad input still ends in one line."""
    out = run_cli([sys.executable, "-m", "lm_eval", "--model", "qx", "--tasks", "cf_flp"], cwd=tmp_path)
    assert out.returncode == 2, out.stderr[-2000:]
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("lm_eval: error: Tasks not found: cf_flp. Did you mean 'cf_flip'")
    assert "Traceback" not in out.stderr


def test_qxbench_eval_limits_the_task_index_for_its_own_call_only():
    """``qxbench eval`` indexes qxbench's task folder only, and only while it runs (issue 40: the setting was
    a global never cleared, so a later run in the same process lost lm-eval's own tasks)."""
    from qxbench import _lmeval_hook
    from qxbench.errors import QxError
    from qxbench.lmeval.eval_cli import cmd_eval

    assert _lmeval_hook._only_qx_tasks is False
    with _lmeval_hook.qx_tasks_only():
        assert _lmeval_hook._only_qx_tasks is True, "the index is not limited while qxbench eval runs"
    assert _lmeval_hook._only_qx_tasks is False, "the limit outlived its call"
    with pytest.raises(QxError, match="cf_flop"):  # an unknown task: refused by check_tasks, inside the call
        cmd_eval(["--model", "qx", "--tasks", "cf_flop"])
    assert _lmeval_hook._only_qx_tasks is False, "a failed qxbench eval left the index limited"
