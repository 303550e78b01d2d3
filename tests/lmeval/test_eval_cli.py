"""``qxbench eval``: unknown task names refused before lm-eval loads anything, lm-eval's ``run`` parser
under qxbench's name, and lm-eval's command line handed over and put back. That the task index is limited
for the call only: tests/test_lmeval_hook.py."""

from __future__ import annotations

import sys

import pytest

from qxbench import preflight
from qxbench.errors import QxError
from qxbench.lmeval import eval_cli

INDEX = {"cf_flip": "task", "memorize": "task", "qx_probes": "group"}


@pytest.fixture()
def index(monkeypatch):
    """A task index of three names (building the real one reads every task folder)."""
    monkeypatch.setattr(eval_cli, "qx_task_index", lambda: INDEX)


def test_an_unknown_task_is_one_line_naming_it_and_the_tasks(index):
    eval_cli.check_tasks(["--model", "qx", "--tasks", "cf_flip,memorize"])
    with pytest.raises(QxError, match=r"^Unknown task 'cf_flop'\. Did you mean 'cf_flip'\? "
                                      r"Available: cf_flip, memorize, qx_probes$"):
        eval_cli.check_tasks(["--tasks=memorize,cf_flop"])


def test_paths_patterns_and_empty_names_are_left_to_lm_eval(index, tmp_path):
    task_file = tmp_path / "my_task.yaml"
    task_file.write_text("task: mine\n")
    eval_cli.check_tasks(["--tasks", f"cf_flip,,{task_file},lm_tasks/*.yaml,arc_[ce]*"])


def test_without_tasks_the_index_is_never_built(monkeypatch):
    def never():
        raise AssertionError("the task index was built")

    monkeypatch.setattr(eval_cli, "qx_task_index", never)
    eval_cli.check_tasks(["--model", "qx"])
    eval_cli.check_tasks(["--model", "qx", "--tasks"])  # no value: lm-eval's parser says so


def test_the_run_parser_is_called_qxbench_eval():
    from lm_eval._cli import HarnessCLI

    harness = HarnessCLI()
    eval_cli._name_the_parser(harness)
    text = harness._subparsers.choices["run"].format_help()
    assert text.startswith("usage: qxbench eval --model qx --tasks <task>"), text[:200]
    assert "$ qxbench eval --model qx --tasks cf_flip --use_cache runs/cache" in text, "the examples are not shown"


def test_lm_eval_reads_a_run_command_line_and_sys_argv_is_put_back(index, monkeypatch):
    seen = []

    def stop(argv):
        seen.append(list(sys.argv))
        raise QxError("stopped before lm-eval parses")

    monkeypatch.setattr(preflight, "check_eval_argv", stop)
    monkeypatch.setattr(sys, "argv", ["pytest"])
    for argv in (["--model", "qx"], ["run", "--model", "qx"]):
        with pytest.raises(QxError, match="stopped"):
            eval_cli.cmd_eval(argv)
        assert sys.argv == ["pytest"], "a refused command left lm-eval's command line in sys.argv"
    assert seen == [["qxbench eval", "run", "--model", "qx"]] * 2, "lm-eval is not handed one `run` command"
