"""Typed probe requests (issue 40): each request type reads lm-eval's ``Instance`` once, at the door, into a
frozen dataclass; the probes never index an arguments tuple, and a request without options gets the options
class's own defaults."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

from qxbench.engine.chat import Chat
from qxbench.errors import QxError
from qxbench.probes.attribution import AttributionOptions
from qxbench.probes.neurons import NeuronOptions
from qxbench.probes.nexttoken import NextTokenOptions
from qxbench.probes.options import ExplainOptions
from qxbench.probes.typed import ExplainRequest, MemorizeRequest, MultiHopRequest, NeuronsRequest, NextTokenRequest

QXBENCH = Path(__file__).resolve().parents[2] / "qxbench"
DOC = {"text": "A fine film.", "label": 1, "labels": ["negative", "positive"]}


def instance(*args, **attrs):
    """What lm-eval hands the model: an object with ``args`` (and the task's ``chat``, ``task_name``, ...)."""
    return SimpleNamespace(args=args, **attrs)


def test_an_explain_request_reads_its_options_by_their_wire_names():
    chat = Chat(True, "Be brief.")
    request = ExplainRequest.read(instance("prompt", DOC, {"prompts": "completion-0", "insert_words": "5",
                                                           "version": "4.1"}, chat=chat))
    assert (request.prompt, request.doc, request.chat) == ("prompt", DOC, chat)
    assert request.options == ExplainOptions(prompts="completion-0", insertion_words=5, version="4.1"), \
        "the options were not read from the third argument by their wire names"


def test_requests_without_options_get_each_options_class_s_defaults():
    assert ExplainRequest.read(instance("p", DOC)).options == ExplainOptions()
    assert MemorizeRequest.read(instance("p", "Paris")).options == AttributionOptions()
    assert NextTokenRequest.read(instance("p", "yes", ["yes", "no"])).options == NextTokenOptions()
    assert NeuronsRequest.read(instance("text")).options == NeuronOptions()
    assert ExplainRequest.read(instance("p", DOC)).chat == Chat(), "a request without chat settings is not plain text"


def test_a_bad_option_stops_at_the_door_with_one_line_naming_it():
    with pytest.raises(QxError, match="method"):
        MemorizeRequest.read(instance("p", "Paris", {"method": "fast"}))
    with pytest.raises(QxError, match="mode"):
        NextTokenRequest.read(instance("p", "yes", ["yes"], {"mode": "sampled"}))


def test_the_other_request_types_carry_their_fields():
    multihop = MultiHopRequest.read(instance("p", {"e2.value": "Rome"}))
    assert multihop.row == {"e2.value": "Rome"}
    assert multihop.chat == Chat()
    calib = NextTokenRequest.read(instance("p", "yes", ["yes", "no"], {"mode": "choices"}))
    assert calib.choices == ("yes", "no")
    assert calib.options.mode == "choices"
    neurons = NeuronsRequest.read(instance("text", {"ig_steps": 8}, task_name="neurons_wiki", doc_id=3))
    assert (neurons.task, neurons.doc_id, neurons.options.ig_steps) == ("neurons_wiki", 3, 8)
    assert NeuronsRequest.read(instance("text")).doc_id is None


def test_requests_group_by_their_options_and_chat_settings():
    plain, chatted = Chat(), Chat(True)
    a = ExplainRequest.read(instance("a", DOC, {"prompts": "instruct-1"}, chat=plain))
    b = ExplainRequest.read(instance("b", {**DOC, "text": "Dull."}, {"prompts": "instruct-1"}, chat=plain))
    assert a.group == b.group, "two documents of one task are not answered together"
    assert a.group != ExplainRequest.read(instance("a", DOC, {"prompts": "instruct-1"}, chat=chatted)).group
    assert a.group != ExplainRequest.read(instance("a", DOC, {"prompts": "completion-0"}, chat=plain)).group
    m = MemorizeRequest.read(instance("p", "Paris", {"norm": "per_vector"}))
    assert m.group != MemorizeRequest.read(instance("p", "Paris")).group
    n = NeuronsRequest.read(instance("t", {}, task_name="a"))
    assert n.group != NeuronsRequest.read(instance("t", {}, task_name="b")).group, "corpus statistics mix tasks"


def test_only_the_door_reads_an_arguments_tuple():
    """``x.args[i]`` (a request's positional arguments) is read in :mod:`qxbench.probes.typed` only; the cache
    (:mod:`qxbench.lmeval.resume`) keys whole tuples and never indexes them."""
    readers = []
    for path in QXBENCH.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                    and node.value.attr == "args"):
                readers.append(f"{path.relative_to(QXBENCH)}:{node.lineno}")
    assert readers and all(r.startswith("probes/typed.py:") for r in readers), readers
