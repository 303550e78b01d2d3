"""Third-party warnings and logs go to the log file; qxbench's own and lm-eval's other messages stay."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings

from qxbench import logs


def _emit() -> None:
    logging.getLogger("torchao").warning("Failed to load _C_mxfp8.so")
    logging.getLogger("torch.utils._pytree").warning("is an Enum subclass")
    logging.getLogger("bitsandbytes.backends.cpu.ops").warning("Failed to load CPU gemm_4bit_forward")
    logging.getLogger("lm_eval.api.task").warning("cf_flip: Custom kwargs can be passed to `--metadata` in console")
    logging.getLogger("lm_eval.evaluator").warning("--limit SHOULD ONLY BE USED FOR TESTING")
    warnings.warn_explicit("Attempting to save a model with offloaded modules", UserWarning,
                           "/site-packages/transformers/modeling_utils.py", 3426)


def test_library_messages_go_to_the_file_and_lm_evals_own_stay(tmp_path, monkeypatch, capsys):
    # lm-eval's own handler, as setup_logging() makes it, but on this test's captured stderr and
    # independent of what earlier tests did to lm-eval's loggers (levels, handlers, disabled flags)
    lm_eval = logging.getLogger("lm_eval")
    monkeypatch.setattr(lm_eval, "handlers", [logging.StreamHandler(sys.stderr)])
    monkeypatch.setattr(lm_eval, "propagate", False)
    monkeypatch.setattr(lm_eval, "level", logging.INFO)
    for name in ("lm_eval.evaluator", "lm_eval.api.task"):
        child = logging.getLogger(name)
        monkeypatch.setattr(child, "disabled", False)
        monkeypatch.setattr(child, "level", logging.NOTSET)
        monkeypatch.setattr(child, "handlers", [])
        monkeypatch.setattr(child, "propagate", True)
    logging.root.manager._clear_cache()
    monkeypatch.delenv(logs.ENV_VERBOSE, raising=False)
    path = tmp_path / "run" / "qxbench.log"
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        with logs.quiet(path) as used:
            assert used == path
            _emit()
    err = capsys.readouterr().err
    assert err.splitlines()[0] == (f"qxbench: library warnings and logs -> {path} "
                                   "(qxbench -v or QX_VERBOSE=1 shows them here)")
    assert "SHOULD ONLY BE USED FOR TESTING" in err
    for text in ("_C_mxfp8", "Enum subclass", "gemm_4bit", "Custom kwargs", "offloaded modules"):
        assert text not in err and text in path.read_text(), text


def test_everything_is_restored_afterwards(tmp_path, monkeypatch):
    monkeypatch.delenv(logs.ENV_VERBOSE, raising=False)
    torch_logger = logging.getLogger("torch")
    before = (list(torch_logger.handlers), torch_logger.propagate, warnings.showwarning)
    with logs.quiet(tmp_path / "qxbench.log", announce=False):
        pass
    assert (list(torch_logger.handlers), torch_logger.propagate, warnings.showwarning) == before


def test_verbose_diverts_nothing(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(logs.ENV_VERBOSE, "1")
    with logs.quiet(tmp_path / "qxbench.log") as used:
        logging.getLogger("torchao").warning("Failed to load _C_mxfp8.so")
    assert used is None
    assert not (tmp_path / "qxbench.log").exists()
    assert "_C_mxfp8" in caplog.text


def test_an_unwritable_log_file_is_a_note_not_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(logs.ENV_VERBOSE, raising=False)
    (tmp_path / "file").write_text("")
    with logs.quiet(tmp_path / "file" / "qxbench.log") as used:
        pass
    assert used is None
    assert "cannot write the log file" in capsys.readouterr().err


def test_the_log_file_is_next_to_the_results(tmp_path, monkeypatch):
    monkeypatch.delenv(logs.ENV_LOG, raising=False)
    assert logs.log_path(tmp_path / "out") == tmp_path / "out" / "qxbench.log"
    assert logs.log_path(tmp_path / "out" / "results.json") == tmp_path / "out" / "qxbench.log"
    default = logs.log_path(None)
    assert default.parts[-3:-1] == ("qxbench", "logs")
    assert default.name.startswith("qxbench-")
    assert default.name.endswith(f"-{os.getpid()}.log")  # one file per run, not one shared by every run
    monkeypatch.setenv(logs.ENV_LOG, str(tmp_path / "x.log"))
    assert logs.log_path(tmp_path / "out") == tmp_path / "x.log"


def test_llm_compressor_logs_go_to_the_file(tmp_path, monkeypatch, capsys):
    import pytest

    loguru = pytest.importorskip("loguru")
    monkeypatch.delenv(logs.ENV_VERBOSE, raising=False)
    path = tmp_path / "qxbench.log"
    with logs.quiet(path, announce=False):
        with logs.importing_llmcompressor():
            loguru.logger.add(sys.stdout)  # what llm-compressor's import does
            print("2026-11-24T12:32:04.8987 | get_main_device | WARNING - No accelerator available!")
        loguru.logger.info("Quantizing 1 module(s): ['model.layers.0.self_attn.q_proj']")
    kept, out = path.read_text(), capsys.readouterr().out
    assert "Quantizing 1 module" in kept
    assert "No accelerator available" in kept
    assert "Quantizing 1 module" not in out
    assert "No accelerator" not in out


def test_a_users_own_loguru_sinks_survive_the_log_set_up(tmp_path, monkeypatch, capsys):
    """qxbench removes only the loguru sinks llm-compressor's import added and the one qxbench put back, by
    their ids: a sink the user added before or between runs keeps receiving messages."""
    import pytest

    loguru = pytest.importorskip("loguru")
    monkeypatch.delenv(logs.ENV_VERBOSE, raising=False)
    seen: dict[str, list[str]] = {"before": [], "between": []}
    users = [loguru.logger.add(lambda m: seen["before"].append(m.record["message"]), level="INFO")]
    try:
        for run in ("first", "second"):  # the second run finds llm-compressor imported already
            with logs.quiet(tmp_path / "qxbench.log", announce=False):
                with logs.importing_llmcompressor():
                    if run == "first":
                        loguru.logger.add(sys.stdout)  # what llm-compressor's import adds
                loguru.logger.info(f"{run} run")
            if run == "first":
                users.append(loguru.logger.add(lambda m: seen["between"].append(m.record["message"]), level="INFO"))
        loguru.logger.info("after")
    finally:
        for sink in users:
            with contextlib.suppress(ValueError):  # already gone: the assertion below says so
                loguru.logger.remove(sink)
    assert seen == {"before": ["first run", "second run", "after"], "between": ["second run", "after"]}
    assert capsys.readouterr().out.count("after") == 1  # one terminal sink in llm-compressor's place, not one a run
