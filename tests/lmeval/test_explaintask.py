"""The task side of cf_flip and nle_sim: the options read from ``--metadata`` over the YAML's, each bad value
one line naming it, and the demonstrations split off the evaluated documents. The task is read without
lm-eval's set-up (only its ``config`` is read); the demonstrations in a run: tests/lm_eval_tasks/test_nle_sim.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from qxbench.engine.chat import Chat
from qxbench.errors import QxError
from qxbench.lmeval.explaintask import ExplainTask, fewshot_split
from qxbench.probes import insertion


class Task(ExplainTask):
    """An explanation task with a YAML's ``metadata`` and ``num_fewshot`` only."""

    def __init__(self, metadata: dict | None = None, num_fewshot: int | None = None) -> None:
        self._config = SimpleNamespace(metadata=metadata, num_fewshot=num_fewshot)


def test_the_options_default_and_metadata_overrides_the_yaml():
    assert Task().options() == {"prompts": "instruct-1", "num_fewshot": 0, "insertion_words": insertion.WORDS,
                                "insertion_positions": insertion.POSITIONS, "apply_chat_template": False}
    assert Task({"version": 4.1}, num_fewshot=2).options()["num_fewshot"] == 2, "the YAML's num_fewshot is lost"
    options = Task({"num_fewshot": "1", "insertion_words": 5, "prompts": "completion-0"}, num_fewshot=2).options()
    assert options["num_fewshot"] == 1, "--metadata does not override the YAML"
    assert options["insertion_words"] == 5
    assert options["prompts"] == "completion-0"


@pytest.mark.parametrize(("metadata", "message"), [
    ({"num_fewshot": -1}, r"^num_fewshot must be an integer >= 0, got -1$"),
    ({"num_fewshot": True}, r"^num_fewshot must be an integer >= 0, got True$"),
    ({"insertion_words": 0}, r"^insertion_words must be an integer >= 1, got 0$"),
    ({"insertion_positions": "2.5"}, r"^insertion_positions must be an integer >= 1, got '2\.5'$"),
    ({"prompts": "instruct"}, r"^Unknown prompt set 'instruct'\. Did you mean 'instruct-1'\?"),
    ({"insertion_word": 5}, r"^Unknown cf_flip option 'insertion_word'\. Did you mean 'insertion_words'\?"),
])
def test_a_bad_option_is_one_line_naming_it(metadata, message):
    with pytest.raises(QxError, match=message):
        Task(metadata).options()


def test_the_chat_template_is_applied_when_the_run_or_the_option_asks():
    assert Task().chat_settings(False, None) == Chat(False, None)
    assert Task().chat_settings(True, "Be brief.") == Chat(True, "Be brief.")
    assert Task({"apply_chat_template": "true"}).chat_settings(False, None) == Chat(True, None), \
        "the option is ignored where the run did not pass --apply_chat_template"


def test_demonstrations_leave_at_least_one_document_to_evaluate():
    assert fewshot_split(4, 0) == ([], [0, 1, 2, 3])
    demos, kept = fewshot_split(4, 3)
    assert len(demos) == 3
    assert len(kept) == 1
    with pytest.raises(QxError, match=r"^num_fewshot 4 is larger than the pool"):
        fewshot_split(4, 4)
