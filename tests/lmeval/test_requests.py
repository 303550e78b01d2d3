"""The probe request types the ``qx`` model answers: read once at the door, a padding copy answered once,
groups answered apart and put back in order, seconds counted under the tasks' names; and the helpers every
probe shares (its gold token, its prompt ids, its pad id). The answers themselves: tests/probes/."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from qxbench.errors import QxError
from qxbench.lmeval import requests
from qxbench.lmeval.requests import ProbeRequests, request_type


def _read(instance) -> str:
    return instance.args[0]


class Echo(ProbeRequests):
    """A model without lm-eval's ``--use_cache`` whose request type ``qx_echo`` upper-cases each prompt."""

    batch_size = 2
    cache_hook = SimpleNamespace(dbdict=None)

    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    @request_type(_read)
    def qx_echo(self, prompts: list[str]) -> list[str]:
        self.seen.append(prompts)
        return [p.upper() for p in prompts]


def _instance(prompt: str, task: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(args=(prompt,), task_name=task)


def test_a_padding_copy_is_answered_once_and_gets_its_original_s_answer():
    lm, last = Echo(), _instance("b")
    assert lm.qx_echo([_instance("a"), last, last]) == ["A", "B", "B"]
    assert lm.seen == [["a", "b"]], "lm-eval's padding copy was answered again"


def test_seconds_are_counted_under_the_task_names_and_start_again_when_taken():
    lm, other = Echo(), Echo()
    lm.qx_echo([_instance("a", "cf_flip_sst2"), _instance("b", "cf_flip")])
    lm.qx_echo([_instance("c")])
    assert other.take_seconds()["probe_seconds"] == {}, "two models share one clock"
    taken = lm.take_seconds()
    assert set(taken["probe_seconds"]) == {"cf_flip, cf_flip_sst2", "qx_echo"}, \
        "the seconds are not keyed by the requests' task names (the method's name without one)"
    assert lm.take_seconds() == {"probe_seconds": {}, "phase_seconds": {}}, "the count did not start again"


def test_groups_are_answered_apart_and_their_answers_put_back_in_request_order():
    batches = []

    def run(group):
        batches.append([r.name for r in group])
        return [r.name * 2 for r in group]

    mixed = [SimpleNamespace(name=n, group=g) for n, g in (("a", 1), ("b", 2), ("c", 1), ("d", 2))]
    assert requests._grouped(mixed, run) == ["aa", "bb", "cc", "dd"]
    assert batches == [["a", "c"], ["b", "d"]], "a group mixed options or chat settings"


class Tokenizer:
    """Words as tokens, a leading space kept in the token (``_Rome``, as GPT-2's ``ĠRome``); with
    ``sentencepiece=True`` every word starts with '▁', as SentencePiece marks a word start."""

    pad_token_id = None

    def __init__(self, sentencepiece: bool = False) -> None:
        self.sentencepiece, self.vocab = sentencepiece, {}

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        if self.sentencepiece:
            text = " " + text
        words = text.replace(" ", " ▁" if self.sentencepiece else " _").split()
        return [self.vocab.setdefault(w, len(self.vocab)) for w in words]

    def convert_ids_to_tokens(self, ids: list[int]) -> list[str]:
        names = {i: w for w, i in self.vocab.items()}
        return [names[i] for i in ids]


class Words(ProbeRequests):
    """The HFLM attributes the helpers read, on :class:`Tokenizer`."""

    eot_token_id = 99
    max_length = 3

    def __init__(self, sentencepiece: bool = False) -> None:
        self.tokenizer = Tokenizer(sentencepiece)

    def tok_encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)


def test_the_gold_token_is_the_answer_s_first_after_one_space_unless_the_tokenizer_marks_word_starts():
    spaced = Words()
    assert spaced._first_token("The capital is ", "  Rome ") == spaced.tokenizer.encode(" Rome")[0], \
        "the answer was not stripped and given one leading space"
    pieces = Words(sentencepiece=True)
    assert pieces._first_token("The capital is", "Rome") == pieces.tokenizer.encode("Rome")[0], \
        "a word-start marking tokenizer got a second space"
    with pytest.raises(QxError, match=r"^The answer to 'The capital is' is empty \('\\t'\)"):
        spaced._first_token("The capital is", "\t")


def test_prompt_ids_keep_the_last_max_length_tokens_and_the_pad_id_falls_back_to_eot():
    lm = Words()
    assert lm._ids("a b c d") == lm.tokenizer.encode("a b c d")[-3:], "a long prompt did not keep its end"
    assert lm._pad_id() == 99
    lm.tokenizer.pad_token_id = 0
    assert lm._pad_id() == 0, "a pad id of 0 was taken for none"
