"""--use_cache for the probe request types: cached by document, resumed after an interruption, never
read across models, configs or options."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from qxbench.probes import resume
from qxbench.probes.chat import Chat


@dataclass
class FakeLM:
    identity: dict
    db: dict

    @property
    def cache_hook(self):
        return SimpleNamespace(dbdict=self.db)

    def cache_identity(self) -> dict:
        return self.identity


def _requests(n: int, options: dict | None = None, chat: Chat | None = None) -> list:
    out = []
    for i in range(n):
        r = SimpleNamespace(args=(f"prompt {i}", {"doc": i}, options or {}))
        if chat is not None:
            r.chat = chat
        out.append(r)
    return out


class Counting:
    def __init__(self, fail_after: int | None = None) -> None:
        self.seen: list[str] = []
        self.fail_after = fail_after

    def __call__(self, part: list) -> list:
        if self.fail_after is not None and len(self.seen) >= self.fail_after:
            raise KeyboardInterrupt
        self.seen += [r.args[0] for r in part]
        return [f"answer to {r.args[0]}" for r in part]


def test_without_use_cache_everything_runs_at_once():
    lm = SimpleNamespace(cache_hook=SimpleNamespace(dbdict=None))
    run = Counting()
    assert resume.answer(lm, "qx_x", _requests(5), run, chunk=2) == [f"answer to prompt {i}" for i in range(5)]
    assert len(run.seen) == 5


def test_an_interrupted_run_resumes_by_document():
    lm = FakeLM({"model": "a"}, {})
    requests = _requests(7)
    with pytest.raises(KeyboardInterrupt):
        resume.answer(lm, "qx_x", requests, Counting(fail_after=4), chunk=2)  # two chunks done, then Ctrl-C
    assert len(lm.db) == 4
    again = Counting()
    out = resume.answer(lm, "qx_x", requests, again, chunk=2)
    assert again.seen == ["prompt 4", "prompt 5", "prompt 6"]
    assert out == [f"answer to prompt {i}" for i in range(7)]
    third = Counting()
    assert resume.answer(lm, "qx_x", requests, third, chunk=2) == out and third.seen == []


@pytest.mark.parametrize("change", ["model", "options", "chat", "request_type"])
def test_another_model_config_or_option_never_reads_an_entry(change):
    db: dict = {}
    resume.answer(FakeLM({"model": "a", "quant": "none"}, db), "qx_x", _requests(3), Counting(), chunk=8)
    lm = FakeLM({"model": "a", "quant": "gptq" if change == "model" else "none"}, db)
    requests = _requests(3, options={"top_k": 10} if change == "options" else None,
                         chat=Chat(apply=True) if change == "chat" else None)
    run = Counting()
    resume.answer(lm, "qx_y" if change == "request_type" else "qx_x", requests, run, chunk=8)
    assert len(run.seen) == 3


def test_answers_that_depend_on_every_document_are_cached_whole():
    db: dict = {}
    lm = FakeLM({"model": "a"}, db)
    first = Counting()
    resume.answer(lm, "qx_neurons", _requests(4), first, chunk=None)
    assert len(first.seen) == 4
    fewer = Counting()
    resume.answer(lm, "qx_neurons", _requests(3), fewer, chunk=None)  # another corpus: other statistics
    assert len(fewer.seen) == 3
    same = Counting()
    resume.answer(lm, "qx_neurons", _requests(4), same, chunk=None)
    assert same.seen == []


@pytest.mark.slow
def test_a_second_run_with_use_cache_does_not_probe_again(tmp_path, monkeypatch):
    from qxbench.adapter import QXLM
    from qxbench.probes import selfexplain
    from tests.lm_eval_tasks.conftest import evaluate

    calls = []
    original = selfexplain.counterfactuals

    def counting(lm, docs, reference=None, prompts=None):
        calls.append(len(docs))
        return original(lm, docs, reference, prompts)

    monkeypatch.setattr(selfexplain, "counterfactuals", counting)
    db = str(tmp_path / "cache")
    runs = []
    for _ in range(2):
        out = evaluate(QXLM(device="cpu", batch_size=4), ["cf_flip"], limit=2, use_cache=db, log_samples=True)
        runs.append(([(s["doc_id"], s["resps"]) for s in out["samples"]["cf_flip"]], out["results"]["cf_flip"]))
    assert calls == [2] and runs[0] == runs[1]
    evaluate(QXLM(device="cpu", batch_size=4, reference="none"), ["cf_flip"], limit=2, use_cache=db)
    assert calls == [2, 2]  # another reference model: another identity, probed again
