"""The explanation probes' typed request options (issue 40): built by the task, read by the model, the
defaults stated once, and on the wire the very JSON protocol 4.1 logged (resume keys unchanged)."""

from __future__ import annotations

import json

from qxbench.probes import insertion
from qxbench.probes.options import ExplainOptions
from qxbench.probes.prompts import PromptSet

# a cf_flip_esnli request's options as 4.1 logged them (benchmarks/results/qwen15_check41, one demo made up)
LOGGED_41 = {"prompts": "instruct-1", "demos": [{"text": "A dog runs.", "label": 0}], "insert_words": 3,
             "insert_positions": 2, "version": "4.1"}


def test_the_wire_format_is_4_1_s_json_byte_for_byte():
    options = ExplainOptions.of(("prompt", {}, LOGGED_41))
    assert json.dumps(options.as_args()) == json.dumps(LOGGED_41), "the logged options (and resume keys) changed"


def test_read_back_typed():
    options = ExplainOptions.of(("prompt", {}, {**LOGGED_41, "insert_words": "5"}))
    assert options.insertion_words == 5, "a count given as text is not read as a number"
    assert options.insertion_positions == 2
    assert options.version == "4.1"
    assert options.demos == ({"text": "A dog runs.", "label": 0},), "demonstrations are not a tuple of documents"
    assert options.prompt_set() == PromptSet("instruct-1", options.demos)


def test_a_request_without_options_has_the_one_set_of_defaults():
    options = ExplainOptions.of(("prompt", {}))
    assert options == ExplainOptions(), "a request without options does not get the defaults"
    assert (options.prompts, options.insertion_words, options.insertion_positions) == (
        PromptSet().name, insertion.WORDS, insertion.POSITIONS), "the defaults disagree across the boundary"


def test_the_task_builds_the_options_the_model_reads():
    from lm_eval.tasks import TaskManager, get_task_dict

    from tests.lm_eval_tasks.conftest import TASKS

    task = get_task_dict(["cf_flip"], TaskManager(include_path=[str(TASKS)], include_defaults=False))["cf_flip"]
    args = task.probe_arguments(task.test_docs()[0], "")
    assert ExplainOptions.of(args) == task.request_options(), "the model reads other options than the task built"
    assert ExplainOptions.of(args).prompts == "completion-0", "the embedded world's YAML default was not kept"
