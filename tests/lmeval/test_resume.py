"""--use_cache for the probe request types: cached by document, resumed after an interruption, never
read across models, configs or options."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from qxbench.engine.chat import Chat
from qxbench.lmeval import resume


@dataclass
class FakeLM:
    identity: dict
    db: Path  # lm-eval's --use_cache database, <PATH>_rank<N>.db (qxbench keeps its answers beside it)

    @property
    def cache_hook(self):
        return SimpleNamespace(dbdict=SimpleNamespace(filename=str(self.db)))

    def cache_identity(self) -> dict:
        return self.identity


def kept(db: Path) -> int:
    """The answers qxbench keeps beside lm-eval's database ``db``."""
    path = db.with_name(db.name.removesuffix(".db") + ".qxprobes.db")
    with sqlite3.connect(path) as con:
        return con.execute("SELECT COUNT(*) FROM answers").fetchone()[0]


@pytest.fixture()
def db(tmp_path) -> Path:
    return tmp_path / "cache_rank0.db"


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


def test_an_interrupted_run_resumes_by_document(db):
    lm = FakeLM({"model": "a"}, db)
    requests = _requests(7)
    with pytest.raises(KeyboardInterrupt):
        resume.answer(lm, "qx_x", requests, Counting(fail_after=4), chunk=2)  # two chunks done, then Ctrl-C
    assert kept(db) == 4
    again = Counting()
    out = resume.answer(lm, "qx_x", requests, again, chunk=2)
    assert again.seen == ["prompt 4", "prompt 5", "prompt 6"]
    assert out == [f"answer to prompt {i}" for i in range(7)]
    third = Counting()
    assert resume.answer(lm, "qx_x", requests, third, chunk=2) == out
    assert third.seen == []


@pytest.mark.parametrize("change", ["model", "options", "chat", "request_type"])
def test_another_model_config_or_option_never_reads_an_entry(change, db):
    resume.answer(FakeLM({"model": "a", "quant": "none"}, db), "qx_x", _requests(3), Counting(), chunk=8)
    lm = FakeLM({"model": "a", "quant": "gptq" if change == "model" else "none"}, db)
    requests = _requests(3, options={"top_k": 10} if change == "options" else None,
                         chat=Chat(apply=True) if change == "chat" else None)
    run = Counting()
    resume.answer(lm, "qx_y" if change == "request_type" else "qx_x", requests, run, chunk=8)
    assert len(run.seen) == 3


def test_answers_that_depend_on_every_document_are_cached_whole(db):
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
    from qxbench.lmeval.adapter import QXLM
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
    assert calls == [2]
    assert runs[0] == runs[1]
    assert kept(tmp_path / "cache_rank0.db") == 2  # qxbench's own JSON file beside lm-eval's pickle store
    evaluate(QXLM(device="cpu", batch_size=4, reference="none"), ["cf_flip"], limit=2, use_cache=db)
    assert calls == [2, 2]  # another reference model: another identity, probed again


class Planted:
    """A pickle that, if it were ever unpickled, would create ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _plant(folder: Path, value: bytes | str) -> int:
    """``value`` in place of every stored value, in every SQLite file under ``folder`` (lm-eval's and qxbench's)."""
    planted = 0
    for path in folder.glob("*.db"):
        with sqlite3.connect(path) as con:
            for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                planted += con.execute(f'UPDATE "{table}" SET value = ?', (value,)).rowcount
    return planted


def test_a_planted_pickle_is_never_unpickled(tmp_path, caplog):
    import pickle

    from sqlitedict import SqliteDict

    marker = tmp_path / "MARKER"
    with SqliteDict(str(tmp_path / "cache_rank0.db"), autocommit=True) as dbdict:  # what lm-eval hands the model
        lm = SimpleNamespace(cache_hook=SimpleNamespace(dbdict=dbdict), cache_identity=lambda: {"model": "a"})
        requests = _requests(3)
        resume.answer(lm, "qx_x", requests, Counting(), chunk=2)
        assert _plant(tmp_path, pickle.dumps(Planted(marker))) == 3
        again = Counting()
        out = resume.answer(lm, "qx_x", requests, again, chunk=2)
    assert not marker.exists()
    assert again.seen == ["prompt 0", "prompt 1", "prompt 2"]
    assert out == [f"answer to prompt {i}" for i in range(3)]
    warnings = [r.getMessage() for r in caplog.records if r.name == resume.__name__]
    assert len(warnings) == 1
    assert "3 kept answer(s)" in warnings[0]
    assert "not JSON text" in warnings[0]


@pytest.mark.parametrize("stored", ["not json", '{"value": 1}', '"a string"', "null"])
def test_a_kept_answer_that_does_not_fit_is_answered_again_with_one_warning(db, caplog, stored):
    lm = FakeLM({"model": "a"}, db)
    resume.answer(lm, "qx_x", _requests(2), Counting(), chunk=2, result=int)
    assert kept(db) == 2
    _plant(db.parent, stored)
    again = Counting()
    assert resume.answer(lm, "qx_x", _requests(2), lambda part: [len(again(part))] * len(part), chunk=2,
                         result=int) == [2, 2]
    assert again.seen == ["prompt 0", "prompt 1"]
    warnings = [r.getMessage() for r in caplog.records if r.name == resume.__name__]
    assert len(warnings) == 1
    assert all("\n" not in w for w in warnings)


@pytest.mark.parametrize("content", [b"not a database at all" * 10, "other table"])
def test_an_answer_file_that_is_not_one_is_one_line(db, content):
    from qxbench.errors import QxError

    path = db.with_name("cache_rank0.qxprobes.db")
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with sqlite3.connect(path) as con:
            con.execute("CREATE TABLE answers (k TEXT, v BLOB)")
    with pytest.raises(QxError, match=f"{path} is not a qxbench probe answer file") as err:
        resume.answer(FakeLM({"model": "a"}, db), "qx_x", _requests(2), Counting(), chunk=2)
    assert "\n" not in str(err.value)


def test_an_answer_file_that_cannot_be_written_is_one_line(tmp_path, monkeypatch):
    """A store that fails while answers are stored (locked, full disk, read-only) is one line naming it."""
    import sqlite3

    from qxbench.errors import QxError
    from qxbench.lmeval import resume

    def failing(db, rows):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(resume, "_write", failing)
    with pytest.raises(QxError, match=r"^The probe answer file .*qxprobes\.db cannot be used: database is locked$"):
        with resume._open(tmp_path / "x.qxprobes.db") as db:
            resume._write(db, [("k", 1)])


def test_lm_eval_s_own_store_never_unpickles_what_it_reads(tmp_path):
    """lm-eval's CachingLM reads its own request types' answers from its SqliteDict: under the qx model that
    store holds JSON, and a planted pickle (sqlitedict's default encoder) is refused in one line, never
    unpickled (no marker file)."""
    from lm_eval.api.instance import Instance
    from lm_eval.api.model import CachingLM, hash_args
    from sqlitedict import SqliteDict

    from qxbench.errors import QxError
    from qxbench.lmeval.adapter import QXLM

    lm = QXLM(device="cpu", batch_size=2, reference="none")
    path = tmp_path / "cache_rank0.db"
    requests = [Instance("loglikelihood", {}, ("The capital of Aurelia is", " Veloris"), 0)]
    first = CachingLM(lm, str(path)).loglikelihood(requests)
    again = CachingLM(lm, str(path)).loglikelihood(requests)  # read back from the store, as JSON
    assert again[0][0] == pytest.approx(first[0][0])
    marker = tmp_path / "MARKER"
    with SqliteDict(str(path), autocommit=True) as raw:  # plant a pickle under the request's own key
        raw[hash_args("loglikelihood", requests[0].args)] = Planted(marker)
    with pytest.raises(QxError, match=r"holds a value that is not JSON text .* qxbench never unpickles"):
        CachingLM(lm, str(path)).loglikelihood(requests)
    assert not marker.exists()
