"""lm-eval's side of a quiet run (qxbench.lmeval.logsetup): its ``git describe`` kept off the terminal."""

from __future__ import annotations

from qxbench import logs
from qxbench.lmeval import logsetup


def test_lm_evals_git_hash_outside_a_repository_prints_nothing(tmp_path, monkeypatch, capfd):
    import lm_eval.evaluator as evaluator

    original = evaluator.get_git_commit_hash
    monkeypatch.delenv(logs.ENV_VERBOSE, raising=False)
    monkeypatch.chdir(tmp_path)  # no repository here: plain `git describe` says "fatal: not a git repository"
    with logsetup.quiet(tmp_path / "qxbench.log", announce=False):
        assert evaluator.get_git_commit_hash() is None
    assert "fatal" not in capfd.readouterr().err
    assert evaluator.get_git_commit_hash is original
    monkeypatch.chdir(logsetup.__file__.rsplit("/qxbench/", 1)[0])  # inside the repository: the same hash as lm-eval's
    with logsetup.quiet(tmp_path / "qxbench.log", announce=False):
        assert evaluator.get_git_commit_hash() == original()
