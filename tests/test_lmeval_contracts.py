"""Contract tests: every lm-eval private or undocumented behaviour qxbench relies on, one test each.

qxbench pins ``lm-eval==0.4.13``; these tests say what that pin protects. After an lm-eval upgrade the
first failure is here, in one line naming the contract and the qxbench code that relies on it, instead
of deep in a run. Each test asserts only what qxbench uses. All are fast (lm-eval's HFLM is loaded once,
on the embedded tiny model).

Each entry: lm-eval's private or internal behaviour; then who in qxbench/ uses it (file:function) -> what the
test pins.

``lm_eval.tasks._index.TaskIndex().build(paths)``
    _lmeval_hook.py:qx_task_index -> our folder's entries, each with ``.kind.name``
``model_registry.register(alias, target="module:attr")``
    _lmeval_hook.py:_register_model -> ``target=`` keyword; the lazy ``qx`` entry resolves to QXLM
``get_model`` fills the registry by importing ``lm_eval.models``
    _lmeval_hook.py:_register_model -> the import the hook's callback waits for
``TaskManager.__init__`` parameters
    _lmeval_hook.py:_patch_task_manager (subclass, fixed signature) -> exact names and order, ``verbosity`` included
every ``TaskManager(...)`` call inside lm-eval
    _lmeval_hook.py:_patch_task_manager (rebinds it across ``sys.modules``)
      -> each call site resolves to the subclass
``ValueError("Tasks not found: a, b")`` text
    _lmeval_hook.py:_unknown_tasks_line -> lm-eval still raises it for unknown tasks; qxbench parses it
``AttributeError`` of ``getattr(lm, "qx_...")``
    _lmeval_hook.py:_probe_model_line -> its text for HFLM and CachingLM; qxbench parses it
console script ``lm_eval.__main__:cli_evaluate``
    _lmeval_hook.py:_wrap_cli -> the entry point's target; the attribute the hook wraps
``lm_eval/__main__.py`` does nothing but ``cli_evaluate()``
    _lmeval_hook.py:_LoaderWithCallback.get_code (replaces ``python -m lm_eval``'s code)
      -> the module's top-level statements
``lm_eval._cli.HarnessCLI`` ``parse_args()`` / ``execute(args)``
    lmeval/eval_cli.py:cmd_eval -> reads ``sys.argv``; ``run`` gives ``args.func``
``HarnessCLI._subparsers.choices["run"]``
    lmeval/eval_cli.py:_name_the_parser -> an ``argparse.ArgumentParser``
``lm_eval.utils.setup_logging(level)``
    logs.py:quiet (filters the ``lm_eval`` logger's handlers); lmeval/logsetup.py:setup_logging (eval_cli, cli.cmd_info)
      -> takes a level name; its handler is on the ``lm_eval`` logger
lm-eval's warning texts
    logs.py:LM_EVAL_NOISE / _Divert -> each text is still in lm-eval's source
``lm_eval.evaluator.get_git_commit_hash``
    lmeval/logsetup.py:quiet (swapped while quiet) -> a module global, called by that name
``get_git_commit_hash``'s body, ``get_commit_from_path(path)``
    lmeval/logsetup.py:_git_hash_quietly (a copy of it) -> ``git describe --always``, the same fallback
``HFLM.__init__`` keywords
    lmeval/adapter.py:QXLM.__init__; model_checks.py:check_model_args
      -> pretrained, dtype, softmax_dtype, tokenizer, device, batch_size
``HFLM._get_config``
    lmeval/adapter.py:QXLM._get_config (override) -> called as ``(pretrained, **keywords)``
``HFLM._create_model``
    lmeval/adapter.py:QXLM._create_model (override) -> called with the model name as ``pretrained``
``HFLM._loglikelihood_tokens``
    lmeval/adapter.py:QXLM._loglikelihood_tokens (override) -> the override's parameters
``lm.cache_hook`` swapped; ``add_partial("loglikelihood", ...)``
    lmeval/adapter.py:QXLM._loglikelihood_tokens; progress.py:CountingHook
      -> the hook is read per answer; one call per request
``CachingLM`` -> ``set_cache_hook(CacheHook)``; ``cache_hook.dbdict``
    lmeval/adapter.py:QXLM.set_cache_hook; lmeval/resume.py:store_path
      -> ``.dbdict.filename`` is the ``--use_cache`` file
``dbdict`` (an SqliteDict) ``encode`` / ``decode`` attributes
    lmeval/resume.py:json_only -> JSON text is stored and read back through them
``CachingLM.__getattr__`` passes other attributes through
    lmeval/requests.py:request_type -> ``qx_*`` methods reach the model unchanged
``HFLM._rank`` / ``_world_size`` / ``accelerator``
    lmeval/adapter.py:QXLM.__init__ (data parallelism) -> rank, world_size, barrier(), all_gather()
``HFLM._encode_pair(context, continuation)``
    engine/choices.py:choice_loglikelihoods, per_character
      -> the whole text split after the context; trailing space moved
``LM.create_from_arg_obj(arg_dict, additional_config)``
    lmeval/adapter.py:QXLM.create_from_arg_obj (sets ``pretrained`` in lm-eval's dict)
      -> parameters; that dict is logged and names the run
HFLM keywords (``tok_encode``, ``tok_batch_encode``, ...)
    probes/nexttoken.py, scoring.py; engine/generate.py, chat.py -> each keyword qxbench passes is accepted
``evaluate`` calls ``getattr(lm, request_type)(requests)``
    lmeval/adapter.py; lmeval/requests.py (probe request types are QXLM methods) -> that call in ``evaluate``
``evaluate`` pads ranks per ``task.OUTPUT_TYPE``
    lmeval/probe.py:ProbeTask.__init__ (sets it to the request type) -> ``task.OUTPUT_TYPE`` is read there
``evaluate`` passes ``chat_template=getattr(lm, "apply_chat_template")``
    lmeval/probe.py:ProbeTask.build_all_requests (its ``__self__`` is the model)
      -> that keyword and the others it passes
``build_all_requests`` / ``doc_iterator`` keywords
    lmeval/probe.py:ProbeTask.build_all_requests -> the keywords it reads and passes on
``construct_requests`` keywords
    lmeval/probe.py:ProbeTask.construct_requests -> Instance fields, but the two it pops
``Instance``: any ``request_type``, extra attributes
    lmeval/probe.py; lmeval/requests.py; lmeval/resume.py:key -> ``.args``, ``task_name``, ``doc_id``, ``instance.chat``
a YAML ``class:`` task is built as ``cls(config=...)``
    lmeval/probe.py:ProbeTask.__init__ (drops ``class``) -> that keyword and the YAML's keys in it
``ConfigurableTask.fewshot_context(doc, num_fewshot, ...)``
    lmeval/explaintask.py:ExplainTask.fewshot_context (override) -> its first parameters
``<out>/<model>/results_<t>.json``, ``samples_<task>_<t>.jsonl``
    run_report.py:newest_results / report -> the names; one stamp for both
the samples log holds ``str()`` of each answer
    probes/logged.py:read_result -> ``resps`` / ``filtered_resps``
``lm_eval.tasks._yaml_loader.load_yaml(path)``; the evaluator's aggregates and ``stderr_for_metric``
    lmeval/rescore.py:task_config, aggregate -> includes merged and ``!function`` resolved; ``metric,none``
      is the aggregation of the documents' values, its standard error ``stderr_for_metric(fn, iters)(items)``
``--samples`` logs each document under its index in the task (not its place in the selection); a run's
``task_hashes`` is ``lm_eval.utils.hash_string`` of its samples' doc, prompt and target hashes in document order
    lmeval/merge.py:merge, _task_hash -> a joined run's document order, ``--limit`` and task_hashes are a whole
      run's (pinned by tests/lmeval/test_merge.py:test_two_parts_joined_are_the_whole_run)
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib
import importlib.util
import inspect
import json
import logging
import sqlite3
import sys
import textwrap
import time
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import lm_eval
import pytest

from qxbench import _lmeval_hook
from qxbench.logs import LM_EVAL_NOISE

LM_EVAL = Path(lm_eval.__file__).resolve().parent


def broke(contract: str, user: str) -> str:
    """The assert message: which lm-eval contract broke and which qxbench code relies on it."""
    return f"lm-eval contract broken: {contract}. qxbench relies on it in {user}"


def params(func: Any) -> list[str]:
    return list(inspect.signature(func).parameters)


def tree_of(func: Any) -> ast.AST:
    return ast.parse(textwrap.dedent(inspect.getsource(func)))


@functools.cache
def lm_eval_sources() -> dict[Path, str]:
    """lm-eval's own modules and their text (not the task folders' helpers under lm_eval/tasks/<task>/)."""
    tasks = LM_EVAL / "tasks"
    return {p: p.read_text(encoding="utf-8") for p in sorted(LM_EVAL.rglob("*.py"))
            if p.parent == tasks or not p.is_relative_to(tasks)}


def module_name(path: Path) -> str:
    rel = path.relative_to(LM_EVAL.parent).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


@pytest.fixture(scope="module", autouse=True)
def hook() -> None:
    """As ``qxbench eval`` does: the hook installed (idempotent; the .pth file normally did it already)."""
    _lmeval_hook.install()


@pytest.fixture(scope="module")
def tiny_hflm(embedded_path: str) -> Any:
    """lm-eval's own HFLM on the embedded tiny model (under a second to load)."""
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=embedded_path, device="cpu", batch_size=2)


# -- qxbench/_lmeval_hook.py ---------------------------------------------------------------------------------


def test_task_index_builds_our_task_folder():
    from lm_eval.tasks._index import TaskIndex

    user = "qxbench/_lmeval_hook.py:qx_task_index"
    index = TaskIndex().build([_lmeval_hook.tasks_dir()])
    assert isinstance(index, dict), broke("lm_eval.tasks._index.TaskIndex().build(paths) returns a dict", user)
    kinds = {name: getattr(getattr(entry, "kind", None), "name", None) for name, entry in index.items()}
    expected = {"cf_flip": "PY_TASK", "world_onehop": "TASK", "qx_probes": "TAG"}
    assert {k: kinds.get(k) for k in expected} == expected, broke(
        "TaskIndex().build([qxbench's task folder]) maps each name to an entry whose .kind.name is "
        f"TASK/PY_TASK/GROUP/TAG (it skips a YAML it cannot read without a word); got {kinds}", user)


def test_model_registry_takes_a_lazy_target():
    from lm_eval.api.registry import model_registry

    from qxbench.lmeval.adapter import QXLM

    user = "qxbench/_lmeval_hook.py:_register_model"
    register = inspect.signature(model_registry.register).parameters
    assert "target" in register and register["target"].kind is inspect.Parameter.KEYWORD_ONLY, broke(
        f"model_registry.register(alias, target='module:attr') (parameters now {list(register)})", user)
    assert "qx" in model_registry and model_registry.get("qx") is QXLM, broke(
        f"a lazy entry registered with target={_lmeval_hook.MODEL_TARGET!r} resolves to that class", user)


def test_get_model_fills_the_registry_by_importing_lm_eval_models():
    from lm_eval.api import registry

    user = "qxbench/_lmeval_hook.py:_register_model (runs when lm_eval.models is imported)"
    imports = [a.name for node in ast.walk(tree_of(registry.get_model)) if isinstance(node, ast.Import)
               for a in node.names]
    assert "lm_eval.models" in imports, broke(
        "lm_eval.api.registry.get_model fills the model registry by importing lm_eval.models", user)


def test_task_manager_init_has_the_parameters_our_subclass_takes():
    import lm_eval.tasks.manager as manager

    ours = manager.TaskManager
    assert getattr(ours, "_qxbench", False), "the hook did not install qxbench's TaskManager subclass"
    base = ours.__mro__[1]
    assert params(base.__init__) == params(ours.__init__) == [
        "self", "verbosity", "include_path", "include_defaults", "metadata"], broke(
        f"TaskManager.__init__(self, verbosity, include_path, include_defaults, metadata); lm-eval's is now "
        f"{params(base.__init__)}: the subclass with a fixed signature would drop or refuse the difference",
        "qxbench/_lmeval_hook.py:_patch_task_manager")


def test_every_task_manager_call_in_lm_eval_reaches_our_subclass():
    """Each ``TaskManager(...)`` call resolves the name either as its module's global (rebound by the hook)
    or through a local ``from lm_eval.tasks[.manager] import TaskManager`` (the attribute the hook sets)."""
    user = "qxbench/_lmeval_hook.py:_patch_task_manager (rebinds TaskManager across sys.modules)"
    ours = sys.modules["lm_eval.tasks.manager"].TaskManager
    calls = 0
    for path, text in lm_eval_sources().items():
        if "TaskManager(" not in text:
            continue
        name = module_name(path)
        module = importlib.import_module(name)
        tree = ast.parse(text)
        parent = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for call in ast.walk(tree):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "TaskManager"):
                continue
            calls += 1
            scope = call
            while scope in parent and not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
                scope = parent[scope]
            package = name if path.name == "__init__.py" else name.rpartition(".")[0]
            local = [importlib.util.resolve_name("." * n.level + (n.module or ""), package) if n.level else n.module
                     for n in ast.walk(scope) if isinstance(n, ast.ImportFrom) and scope is not tree
                     and any((a.asname or a.name) == "TaskManager" for a in n.names)]
            where = importlib.import_module(local[0]) if local else module
            seen = getattr(where, "TaskManager", None)
            assert seen is ours, broke(
                f"{name}:{call.lineno} calls TaskManager(...) through a name the hook does not rebind "
                f"({'from ' + local[0] if local else 'module global'} -> {seen!r})", user)
    assert calls, broke("lm-eval constructs TaskManager by that name somewhere (no call found)", user)


def test_an_unknown_task_is_the_error_text_we_parse(monkeypatch):
    from lm_eval.config.evaluate_config import EvaluatorConfig

    monkeypatch.setattr(_lmeval_hook, "_only_qx_tasks", True)  # index qxbench's folder only: fast
    with pytest.raises(ValueError) as caught:
        EvaluatorConfig(tasks="cf_flpi,world_onehp").process_tasks()
    line = _lmeval_hook.error_line(caught.value)
    assert line is not None and "Did you mean 'cf_flip', 'world_onehop'?" in line, broke(
        f"an unknown task raises ValueError('Tasks not found: <names, comma separated>'); got {caught.value!r}",
        "qxbench/_lmeval_hook.py:_unknown_tasks_line")


@pytest.mark.parametrize("wrapped", [False, True], ids=["HFLM", "CachingLM"])
def test_a_probe_request_to_another_model_is_the_error_text_we_parse(wrapped, tmp_path):
    from lm_eval.api.model import CachingLM
    from lm_eval.models.huggingface import HFLM

    lm: Any = HFLM.__new__(HFLM)
    if wrapped:  # --use_cache
        lm.set_cache_hook = lambda hook: None
        lm = CachingLM(lm, str(tmp_path / "cache_rank0.db"))
    with pytest.raises(AttributeError) as caught:
        getattr(lm, "qx_memorize")  # noqa: B009 -- what lm-eval's evaluator does with a probe's request type
    line = _lmeval_hook.error_line(caught.value)
    assert line is not None and line.startswith("this task sends 'qx_memorize' requests"), broke(
        f"a model without a probe's request type raises \"'<class>' object has no attribute 'qx_...'\"; "
        f"got {caught.value!r}", "qxbench/_lmeval_hook.py:_probe_model_line")


def test_the_console_script_is_cli_evaluate():
    import lm_eval.__main__ as main

    user = "qxbench/_lmeval_hook.py:_wrap_cli (wraps lm_eval.__main__.cli_evaluate)"
    scripts = {e.name: e.value for e in distribution("lm_eval").entry_points if e.group == "console_scripts"}
    assert scripts.get("lm_eval") == "lm_eval.__main__:cli_evaluate", broke(
        f"the `lm_eval` console script runs lm_eval.__main__:cli_evaluate (now {scripts})", user)
    assert callable(getattr(main, "cli_evaluate", None)) and getattr(main.cli_evaluate, "_qxbench", False), broke(
        "lm_eval.__main__ defines cli_evaluate, which the import hook wraps", user)


def test_python_m_lm_eval_runs_only_cli_evaluate():
    """The hook hands ``python -m lm_eval`` other code: ``run_as_main()``, i.e. ``cli_evaluate()``. That is
    all lm-eval's ``__main__`` may do, or ``python -m lm_eval`` would lose the rest."""
    spec = importlib.util.find_spec("lm_eval.__main__")
    assert spec is not None
    assert spec.origin
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    other = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef)):
            continue
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) and node is tree.body[0]:
            continue  # docstring
        main_guard = (isinstance(node, ast.If) and ast.unparse(node.test) in ("__name__ == '__main__'",
                                                                              "'__main__' == __name__"))
        if main_guard and [ast.unparse(s) for s in node.body] == ["cli_evaluate()"] and not node.orelse:
            continue
        other.append(f"line {node.lineno}: {ast.unparse(node)[:80]}")
    assert not other, broke(
        f"lm_eval/__main__.py only defines cli_evaluate and calls it under __main__; it also runs {other}",
        "qxbench/_lmeval_hook.py:_LoaderWithCallback.get_code (python -m lm_eval runs run_as_main instead)")


def test_setup_logging_puts_its_handler_on_the_lm_eval_logger(monkeypatch):
    import lm_eval.utils

    logger = logging.getLogger("lm_eval")
    for name, value in (("handlers", []), ("propagate", logger.propagate), ("level", logger.level)):
        monkeypatch.setattr(logger, name, value)
    monkeypatch.setattr(lm_eval.utils, "_LOGGING_CONFIGURED", False, raising=False)  # as in a fresh process
    lm_eval.utils.setup_logging("WARNING")
    assert logger.handlers and logger.level == logging.WARNING, broke(
        "lm_eval.utils.setup_logging('WARNING') takes a level name and adds its handler to the 'lm_eval' logger",
        "qxbench/logs.py:quiet (filters the 'lm_eval' logger's handlers), lmeval/logsetup.py:setup_logging")


@pytest.mark.parametrize("text", [pytest.param(t, id=t[:24]) for t in LM_EVAL_NOISE])
def test_the_warnings_we_divert_are_still_lm_evals(text):
    found = [p for p, source in lm_eval_sources().items() if text in source]
    assert found, broke(f"lm-eval still warns {text!r} (it would show on the terminal again)",
                        "qxbench/logs.py:LM_EVAL_NOISE / _Divert")


def test_get_git_commit_hash_is_an_evaluator_global_called_by_name():
    import lm_eval.evaluator as evaluator
    from lm_eval.loggers.utils import get_git_commit_hash

    user = "qxbench/lmeval/logsetup.py:quiet (swaps lm_eval.evaluator.get_git_commit_hash while a run is quiet)"
    assert getattr(evaluator, "get_git_commit_hash", None) is get_git_commit_hash, broke(
        "lm_eval.evaluator imports get_git_commit_hash as a module global", user)
    called = [n for n in ast.walk(ast.parse(Path(evaluator.__file__).read_text(encoding="utf-8")))
              if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "get_git_commit_hash"]
    assert called, broke("lm_eval.evaluator calls get_git_commit_hash() by that global name", user)


def test_get_git_commit_hash_is_what_our_quiet_copy_copies():
    from lm_eval.loggers import utils

    user = "qxbench/lmeval/logsetup.py:_git_hash_quietly (lm-eval's function with git's stderr silenced)"
    body = inspect.getsource(utils.get_git_commit_hash)
    assert '["git", "describe", "--always"]' in body and "get_commit_from_path(os.getcwd())" in body, broke(
        "get_git_commit_hash runs `git describe --always`, falling back to get_commit_from_path(os.getcwd())", user)
    assert len(params(utils.get_commit_from_path)) == 1, broke(
        f"lm_eval.loggers.utils.get_commit_from_path(path) (parameters now {params(utils.get_commit_from_path)})",
        user)


# -- qxbench/lmeval/eval_cli.py -------------------------------------------------------------------------------------


def test_harness_cli_parses_sys_argv_into_a_runnable_command(monkeypatch):
    from lm_eval._cli import HarnessCLI

    monkeypatch.setattr(sys, "argv", ["qxbench eval", "run", "--model", "qx", "--tasks", "cf_flip"])
    contract = "lm_eval._cli.HarnessCLI().parse_args() reads sys.argv (`run ...`) into args with .func to execute"
    parser = HarnessCLI()
    try:
        args = parser.parse_args()
    except (TypeError, SystemExit) as err:
        pytest.fail(broke(f"{contract} ({err!r})", "qxbench/lmeval/eval_cli.py:cmd_eval"))
    got = (getattr(args, "command", None), getattr(args, "model", None), callable(getattr(args, "func", None)))
    assert got == ("run", "qx", True), broke(f"{contract} (got {args})", "qxbench/lmeval/eval_cli.py:cmd_eval")
    execute = getattr(HarnessCLI, "execute", None)
    assert execute is not None and params(execute) == ["self", "args"], broke(
        "HarnessCLI.execute(args) runs the parsed command", "qxbench/lmeval/eval_cli.py:cmd_eval")


def test_harness_cli_keeps_its_run_parser_in_subparsers():
    from lm_eval._cli import HarnessCLI

    run = getattr(getattr(HarnessCLI(), "_subparsers", None), "choices", {}).get("run")
    assert isinstance(run, argparse.ArgumentParser), broke(
        "HarnessCLI()._subparsers.choices['run'] is the `run` subcommand's ArgumentParser",
        "qxbench/lmeval/eval_cli.py:_name_the_parser (renames it `qxbench eval`)")


# -- qxbench/lmeval/adapter.py: HFLM --------------------------------------------------------------------------------


def test_hflm_init_takes_the_keywords_qxlm_passes():
    from lm_eval.models.huggingface import HFLM

    missing = {"pretrained", "dtype", "softmax_dtype", "tokenizer", "device", "batch_size"} - set(params(HFLM.__init__))
    assert not missing, broke(f"HFLM.__init__ takes these keywords (missing now: {sorted(missing)})",
                              "qxbench/lmeval/adapter.py:QXLM.__init__ and model_checks.py:check_model_args")


class _Stop(Exception):
    pass


def test_hflm_calls_get_config_with_the_name_first():
    from lm_eval.models.huggingface import HFLM

    seen: list[tuple] = []

    class Probe(HFLM):
        def _get_config(self, *args: Any, **kwargs: Any) -> None:
            seen.append(args)
            raise _Stop

    with pytest.raises(_Stop):
        Probe(pretrained="org/some-model", device="cpu")
    assert seen == [("org/some-model",)], broke(
        f"HFLM.__init__ calls self._get_config(pretrained, **keywords) (got positional {seen})",
        "qxbench/lmeval/adapter.py:QXLM._get_config (override: (pretrained, **kwargs), load errors in one line)")


def test_hflm_calls_create_model_with_pretrained(embedded_path):
    from lm_eval.models.huggingface import HFLM

    seen: list[tuple] = []

    class Probe(HFLM):
        def _create_model(self, *args: Any, **kwargs: Any) -> None:
            seen.append((args, kwargs.get("pretrained")))
            raise _Stop

    with pytest.raises(_Stop):
        Probe(pretrained=embedded_path, device="cpu")
    args, name = seen[0] if seen else ((), None)
    assert (name or (args[0] if args else None)) == embedded_path, broke(
        f"HFLM.__init__ calls self._create_model with the model name as pretrained (got {seen})",
        "qxbench/lmeval/adapter.py:QXLM._create_model (override: (pretrained, *args, **kwargs))")


def test_loglikelihood_tokens_has_the_parameters_of_our_override():
    from lm_eval.models.huggingface import HFLM

    from qxbench.lmeval.adapter import QXLM

    assert params(HFLM._loglikelihood_tokens) == params(QXLM._loglikelihood_tokens), broke(
        f"HFLM._loglikelihood_tokens{inspect.signature(HFLM._loglikelihood_tokens)} has the parameters "
        f"(self, requests, disable_tqdm, override_bs)",
        "qxbench/lmeval/adapter.py:QXLM._loglikelihood_tokens (override)")


def test_each_loglikelihood_answer_goes_to_the_cache_hook_of_the_moment(tiny_hflm):
    from lm_eval.api.instance import Instance

    seen: list[str] = []

    class Hook:
        def add_partial(self, attr: str, req: Any, res: Any) -> None:
            seen.append(attr)

    saved = tiny_hflm.cache_hook
    tiny_hflm.cache_hook = Hook()  # what QXLM._loglikelihood_tokens does for a probe phase
    try:
        tiny_hflm.loglikelihood([Instance("loglikelihood", {}, ("The cat", " sat"), 0),
                                 Instance("loglikelihood", {}, ("A dog", " ran"), 0)], disable_tqdm=True)
    finally:
        tiny_hflm.cache_hook = saved
    assert seen == ["loglikelihood", "loglikelihood"], broke(
        f"HFLM reads self.cache_hook per answer and calls add_partial('loglikelihood', ...) once per request "
        f"(got {seen})",
        "qxbench/lmeval/adapter.py:QXLM._loglikelihood_tokens and progress.py:CountingHook (phase bars)")


def _fake_lm() -> Any:
    class FakeLM:
        def __init__(self) -> None:
            self.hooks: list[Any] = []

        def set_cache_hook(self, cache_hook: Any) -> None:
            self.hooks.append(cache_hook)

        def qx_memorize(self, requests: list[Any]) -> list[Any]:
            return []

    return FakeLM()


def test_use_cache_hands_the_model_a_cache_hook_with_its_dbdict(tmp_path):
    from lm_eval.api.model import LM, CacheHook, CachingLM

    from qxbench.lmeval.adapter import QXLM

    user = "qxbench/lmeval/adapter.py:QXLM.set_cache_hook and lmeval/resume.py:store_path"
    assert params(LM.set_cache_hook) == params(QXLM.set_cache_hook) == ["self", "cache_hook"], broke(
        f"LM.set_cache_hook(cache_hook) (now {params(LM.set_cache_hook)})", user)
    lm = _fake_lm()
    path = tmp_path / "runs" / "cache_rank0.db"
    CachingLM(lm, str(path))
    hook = lm.hooks[0] if lm.hooks else None
    assert isinstance(hook, CacheHook) and getattr(getattr(hook, "dbdict", None), "filename", None) == str(path), \
        broke("CachingLM(lm, path) calls lm.set_cache_hook(CacheHook) whose .dbdict.filename is the cache file", user)


def test_the_cache_store_honours_our_encode_and_decode(tmp_path):
    from lm_eval.api.model import CachingLM

    from qxbench.lmeval import resume

    lm = _fake_lm()
    CachingLM(lm, str(tmp_path / "cache_rank0.db"))
    hook = lm.hooks[0]
    resume.json_only(hook.dbdict)
    hook.add_partial("loglikelihood", ("The cat", " sat"), (-1.5, True))  # what HFLM stores per answer
    hook.dbdict.commit()
    rows = sqlite3.connect(tmp_path / "cache_rank0.db").execute("SELECT value FROM unnamed").fetchall()
    assert rows and all(isinstance(v, str) and json.loads(v) == [-1.5, True] for (v,) in rows), broke(
        f"the --use_cache store (SqliteDict) writes through its .encode attribute: JSON text, not a pickle "
        f"(rows {rows})", "qxbench/lmeval/resume.py:json_only")
    assert [hook.dbdict[k] for k in hook.dbdict] == [[-1.5, True]], broke(
        "the --use_cache store reads through its .decode attribute", "qxbench/lmeval/resume.py:json_only")


def test_use_cache_passes_probe_request_types_to_the_model(tmp_path):
    from lm_eval.api.model import CachingLM

    lm = _fake_lm()
    cached = CachingLM(lm, str(tmp_path / "cache_rank0.db"))
    assert getattr(cached, "qx_memorize", None) == lm.qx_memorize, broke(
        "CachingLM hands attributes other than its three request types to the model unchanged",
        "qxbench/lmeval/requests.py:request_type (probe answers are resumed by qxbench's own store)")


def test_rank_and_world_size_come_from_the_private_fields_we_set():
    from lm_eval.models.huggingface import HFLM

    class Accelerator:
        waited = False

        def wait_for_everyone(self) -> None:
            self.waited = True

        def gather(self, tensor: Any) -> Any:
            return ("gathered", tensor)

    lm: Any = HFLM.__new__(HFLM)
    lm._rank, lm._world_size, lm.accelerator = 2, 3, Accelerator()
    lm.barrier()
    assert (lm.rank, lm.world_size, lm.accelerator.waited, lm.all_gather("t")) == (2, 3, True, ("gathered", "t")), \
        broke("HFLM.rank / world_size read self._rank / self._world_size; barrier() and all_gather() use "
              "self.accelerator", "qxbench/lmeval/adapter.py:QXLM.__init__ (accelerate launch on any device)")


def test_encode_pair_splits_the_whole_text(tiny_hflm):
    user = "qxbench/engine/choices.py:choice_loglikelihoods and per_character"
    assert params(tiny_hflm._encode_pair) == ["context", "continuation"], broke(
        f"HFLM._encode_pair(context, continuation) (parameters now {params(tiny_hflm._encode_pair)})", user)
    context, continuation = tiny_hflm._encode_pair("The cat", " sat")
    assert context + continuation == tiny_hflm.tok_encode("The cat sat") and \
        context == tiny_hflm.tok_encode("The cat"), broke(
        "_encode_pair encodes the whole text and splits it after the context's own tokens", user)
    assert tiny_hflm._encode_pair("The cat ", "sat") == (context, continuation), broke(
        "_encode_pair moves the context's trailing spaces to the continuation", user)


def test_create_from_arg_obj_gets_the_dict_lm_eval_names_the_run_from(tmp_path):
    import lm_eval.evaluator as evaluator
    from lm_eval.api.model import LM
    from lm_eval.loggers import EvaluationTracker

    from qxbench.lmeval.adapter import QXLM

    user = "qxbench/lmeval/adapter.py:QXLM.create_from_arg_obj (sets pretrained in lm-eval's dict: the run's name)"
    assert params(LM.create_from_arg_obj) == params(QXLM.create_from_arg_obj) == ["arg_dict", "additional_config"], \
        broke(f"LM.create_from_arg_obj(arg_dict, additional_config) (now {params(LM.create_from_arg_obj)})", user)
    tree = tree_of(evaluator.simple_evaluate)
    made = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr == "create_from_arg_obj" and n.args and ast.unparse(n.args[0]) == "model_args"]
    logged = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
              and n.func.attr == "log_experiment_args"
              and any(k.arg == "model_args" and "model_args" in ast.unparse(k.value) for k in n.keywords)]
    between = range(made[0].lineno + 1, logged[0].lineno) if made and logged else range(0)
    rebound = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "model_args"
               and isinstance(n.ctx, ast.Store) and n.lineno in between]
    assert made and logged and not rebound, broke(
        "simple_evaluate hands its model_args dict to create_from_arg_obj and logs that same dict (the run's name)",
        user)
    tracker = EvaluationTracker(output_path=str(tmp_path))
    tracker.general_config_tracker.log_experiment_args(model_source="qx", model_args={"pretrained": "qx-tiny"},
                                                       system_instruction=None, chat_template=None,
                                                       fewshot_as_multiturn=False)
    assert tracker.general_config_tracker.model_name_sanitized == "qx-tiny", broke(
        "a run is named after model_args['pretrained']", user)


@pytest.mark.parametrize(("method", "keyword", "user"), [
    ("tok_encode", "add_special_tokens", "qxbench/probes/nexttoken.py"),
    ("tok_batch_encode", "left_truncate_len", "qxbench/engine/generate.py:_encoded (batch encoding)"),
    ("loglikelihood", "disable_tqdm", "qxbench/probes/scoring.py:classify"),
    ("loglikelihood_rolling", "disable_tqdm", "qxbench/probes/scoring.py:perplexities (fluency)"),
    ("apply_chat_template", "chat_history", "qxbench/engine/chat.py:Chat.formatter (first positional)"),
])
def test_hflm_methods_take_the_keywords_we_pass(method, keyword, user):
    from lm_eval.models.huggingface import HFLM

    assert keyword in params(getattr(HFLM, method)), broke(
        f"HFLM.{method} takes {keyword!r} (parameters now {params(getattr(HFLM, method))})", user)


# -- qxbench/lmeval/probe.py and probes: the evaluator and tasks ----------------------------------------------------


def test_the_evaluator_calls_the_lm_method_named_by_the_request_type():
    import lm_eval.evaluator as evaluator

    tree = tree_of(evaluator.evaluate)
    dispatch = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Call)
                and ast.unparse(n.func.func) == "getattr" and ast.unparse(n.func.args[0]) == "lm"]
    reads = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "request_type"]
    assert dispatch and reads, broke(
        "lm_eval.evaluator.evaluate groups instances by .request_type and calls getattr(lm, request_type)(requests)",
        "qxbench/lmeval/adapter.py / lmeval/requests.py (each probe request type is a QXLM method) and "
        "_lmeval_hook.py:_probe_model_line")


def test_the_evaluator_pads_ranks_by_the_tasks_output_type():
    import lm_eval.evaluator as evaluator

    reads = [n for n in ast.walk(tree_of(evaluator.evaluate))
             if isinstance(n, ast.Attribute) and n.attr == "OUTPUT_TYPE" and ast.unparse(n.value) == "task"]
    assert reads, broke("lm_eval.evaluator.evaluate pads a data-parallel run's ranks per task.OUTPUT_TYPE",
                        "qxbench/lmeval/probe.py:ProbeTask.__init__ (sets OUTPUT_TYPE to the probe's request type)")


def test_the_evaluator_hands_tasks_the_lms_chat_template_method():
    import lm_eval.evaluator as evaluator

    calls = [n for n in ast.walk(tree_of(evaluator.evaluate)) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Attribute) and n.func.attr == "build_all_requests"]
    given = {k.arg: ast.unparse(k.value) for c in calls for k in c.keywords}
    assert "getattr(lm, 'apply_chat_template'" in given.get("chat_template", ""), broke(
        f"evaluate calls task.build_all_requests(chat_template=getattr(lm, 'apply_chat_template', ...)) "
        f"(got {given.get('chat_template')!r})",
        "qxbench/lmeval/probe.py:ProbeTask.build_all_requests (its __self__ is the model whose chat template is "
        "checked)")
    missing = {"limit", "samples", "world_size", "system_instruction", "apply_chat_template"} - set(given)
    assert not missing, broke(f"evaluate passes these keywords to build_all_requests (missing: {sorted(missing)})",
                              "qxbench/lmeval/probe.py:ProbeTask.build_all_requests")


def test_build_all_requests_and_doc_iterator_take_our_keywords():
    from lm_eval.api.task import ConfigurableTask

    user = "qxbench/lmeval/probe.py:ProbeTask.build_all_requests"
    missing = {"limit", "samples", "world_size", "system_instruction", "apply_chat_template", "chat_template"} - \
        set(params(ConfigurableTask.build_all_requests))
    assert not missing, broke(f"ConfigurableTask.build_all_requests keywords (missing: {sorted(missing)})", user)
    missing = {"limit", "samples"} - set(params(ConfigurableTask.doc_iterator))
    assert not missing, broke(f"ConfigurableTask.doc_iterator(limit=, samples=) (missing: {sorted(missing)})", user)


def test_construct_requests_gets_instance_fields_and_two_chat_keywords():
    import dataclasses

    from lm_eval.api import task as task_module
    from lm_eval.api.instance import Instance

    fields = {f.name for f in dataclasses.fields(Instance)}
    calls = [n for n in ast.walk(tree_of(task_module.Task.build_all_requests)) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Attribute) and n.func.attr == "construct_requests"]
    extra = {k.arg for c in calls for k in c.keywords} - {"doc", "ctx", "apply_chat_template", "chat_template"}
    assert calls and extra <= fields, broke(
        f"Task.build_all_requests calls construct_requests(doc=, ctx=, <Instance fields>, apply_chat_template=, "
        f"chat_template=); not Instance fields now: {sorted(extra - fields)}",
        "qxbench/lmeval/probe.py:ProbeTask.construct_requests (pops the two, hands the rest to Instance)")


def test_an_instance_takes_any_request_type_and_our_attributes():
    from lm_eval.api.instance import Instance

    user = "qxbench/lmeval/probe.py:ProbeTask.construct_requests, lmeval/requests.py, lmeval/resume.py:key"
    instance = Instance(request_type="qx_memorize", doc={"q": 1}, arguments=("prompt", "answer"), idx=0,
                        metadata=("memorize", 7, 1))
    try:
        instance.chat = "settings"  # type: ignore[attr-defined]
    except AttributeError as err:
        pytest.fail(broke(f"an Instance takes an extra attribute, the chat settings ({err})", user))
    got = (instance.request_type, instance.args, instance.task_name, instance.doc_id, instance.chat)
    assert got == ("qx_memorize", ("prompt", "answer"), "memorize", 7, "settings"), broke(
        f"Instance(request_type=<any name>, doc=, arguments=, idx=, metadata=(task, doc_id, repeats)) has .args, "
        f".task_name, .doc_id and takes an extra attribute (got {got})", user)


def test_a_yaml_class_task_is_built_with_its_config(tmp_path):
    import lm_eval.tasks

    (tmp_path / "contract.yaml").write_text("task: qx_contract_probe\nclass: !function rec.Recording\n"
                                            "output_type: loglikelihood\nmetadata:\n  version: 1.0\n")
    (tmp_path / "rec.py").write_text("class Recording:\n    task_name = 'qx_contract_probe'\n\n"
                                     "    def __init__(self, config=None, **kwargs):\n"
                                     "        self.received = (config, kwargs)\n")
    manager = lm_eval.tasks.TaskManager(include_path=str(tmp_path), include_defaults=False)
    task = manager.load(["qx_contract_probe"])["tasks"]["qx_contract_probe"]
    config, kwargs = task.received
    assert isinstance(config, dict) and config.get("task") == "qx_contract_probe" and "metadata" in config \
        and not kwargs, broke(f"a YAML `class:` task is built as cls(config=<the YAML's keys>) (got {task.received})",
                              "qxbench/lmeval/probe.py:ProbeTask.__init__ (drops the `class` key TaskConfig rejects)")


def test_fewshot_context_takes_doc_and_num_fewshot_first():
    from lm_eval.api.task import ConfigurableTask

    assert params(ConfigurableTask.fewshot_context)[:3] == ["self", "doc", "num_fewshot"], broke(
        f"ConfigurableTask.fewshot_context(doc, num_fewshot, ...) (now {params(ConfigurableTask.fewshot_context)})",
        "qxbench/lmeval/explaintask.py:ExplainTask.fewshot_context (override)")


# -- qxbench/run_report.py and probes/logged.py: lm-eval's output files ---------------------------------------


@pytest.fixture
def saved_run(tmp_path) -> tuple[Path, float]:
    from lm_eval.loggers import EvaluationTracker

    class Answer:
        def __str__(self) -> str:
            return "ANSWER-TEXT"

    started = time.time() - 1
    tracker = EvaluationTracker(output_path=str(tmp_path))
    tracker.general_config_tracker.log_experiment_args(model_source="qx", model_args={"pretrained": "qx-tiny"},
                                                       system_instruction=None, chat_template=None,
                                                       fewshot_as_multiturn=False)
    tracker.save_results_aggregated(results={"results": {}}, samples=None)
    tracker.save_results_samples(task_name="cf_flip", samples=[  # type: ignore[arg-type]
        {"arguments": [("prompt",)], "resps": [[Answer()]], "filtered_resps": [Answer()], "target": 0}])
    return tmp_path, started


def test_results_and_samples_files_are_named_as_our_report_finds_them(saved_run):
    from qxbench.run_report import newest_results

    out, started = saved_run
    found = newest_results(out, started)
    stamp = found.stem.removeprefix("results_") if found else None
    samples = sorted(found.parent.glob(f"samples_*_{stamp}.jsonl")) if found else []
    assert found is not None and found.parent == out / "qx-tiny" and [p.name for p in samples] == \
        [f"samples_cf_flip_{stamp}.jsonl"], broke(
        f"lm-eval writes <output_path>/<model>/results_<stamp>.json and samples_<task>_<stamp>.jsonl with the same "
        f"stamp (found {sorted(str(p.relative_to(out)) for p in out.rglob('*') if p.is_file())})",
        "qxbench/run_report.py:newest_results and report")


def test_the_samples_log_holds_str_of_each_answer(saved_run):
    out, _ = saved_run
    rows = [json.loads(line) for p in out.rglob("samples_*.jsonl") for line in p.read_text().splitlines()]
    got = [(r.get("resps"), r.get("filtered_resps")) for r in rows]
    assert got == [([["ANSWER-TEXT"]], ["ANSWER-TEXT"])], broke(
        f"samples_*.jsonl holds str() of each answer in resps / filtered_resps (got {got})",
        "qxbench/probes/logged.py:read_result (parses that text back)")


def test_rescore_loads_a_task_yaml_and_aggregates_as_the_evaluator_does():
    """A YAML's includes and ``!function`` aggregations resolve, and a mean's stderr is ``mean_stderr``."""
    from lm_eval.api.metrics import mean, mean_stderr, stderr_for_metric
    from lm_eval.api.registry import get_aggregation
    from lm_eval.tasks._yaml_loader import load_yaml

    from qxbench._lmeval_hook import tasks_dir

    config = load_yaml(tasks_dir() / "cf_flip" / "cf_flip_sst2.yaml")
    aggs = {m["metric"]: m["aggregation"] for m in config.get("metric_list", [])}
    assert callable(config.get("process_results")) and aggs.get("acc") == "mean" and callable(aggs.get("minimality")), \
        broke("load_yaml merges `include:` and resolves `!function` (process_results, aggregations)",
              "qxbench/lmeval/rescore.py:task_config")
    assert get_aggregation("mean") is mean and stderr_for_metric(metric=mean, bootstrap_iters=100000) is mean_stderr \
        and stderr_for_metric(metric=aggs["minimality"], bootstrap_iters=100000) is None, \
        broke("a mean's stderr is mean_stderr; a custom aggregation has none (the evaluator writes N/A)",
              "qxbench/lmeval/rescore.py:aggregate")
