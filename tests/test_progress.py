"""One bar per probe phase, counted in documents; lm-eval's inner requests move it."""

from __future__ import annotations

from types import SimpleNamespace

from qxbench import progress


def test_a_phase_counts_documents_from_answered_requests(capsys):
    partials = []
    inner = SimpleNamespace(add_partial=lambda *a: partials.append(a))
    with progress.scope("cf_flip"), progress.phase("classify", 4, requests=8) as phase:
        assert progress.active() is phase
        hook = progress.CountingHook(inner, phase)
        for _ in range(4):
            hook.add_partial("loglikelihood", ("ctx", " cont"), (-1.0, True))
        assert phase.bar.n == 2
        hook.add_partial("loglikelihood_rolling", ("text",), -3.0)  # a whole text, not a request of the phase
        assert phase.bar.n == 2
        assert len(partials) == 5  # every call reaches the real hook
    assert progress.active() is None
    err = capsys.readouterr().err
    assert "cf_flip · classify: 100%" in err
    assert "4/4" in err


def test_a_failed_phase_is_not_shown_complete(capsys):
    try:
        with progress.phase("rewrite", 3) as phase:
            phase.advance()
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert "1/3" in capsys.readouterr().err
    assert progress.active() is None


def test_phases_inside_a_chunked_answer_vanish_when_done():
    with progress.documents(10, cached=4) as bar:
        assert bar.n == 4
        with progress.phase("classify", 2) as phase:
            assert phase.bar.leave is False
    with progress.phase("classify", 2) as phase:
        assert phase.bar.leave is True


def test_each_phase_records_its_seconds_on_the_run_s_clock_once_taken(monkeypatch):
    ticks = iter([10.0, 12.5, 20.0, 21.0])
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(ticks))
    clock = progress.Clock()
    with progress.scope("cf_flip_sst2", clock):
        with progress.phase("rewrite", 4):
            pass
        with progress.scope("inner"):  # a scope without a clock counts on the enclosing one
            with progress.phase("rewrite", 4):
                pass
    assert clock.take() == {"cf_flip_sst2 · rewrite": 2.5, "inner · rewrite": 1.0}
    assert clock.take() == {}  # taken: the next run counts from zero


def test_two_runs_clocks_never_mix_and_no_phase_outside_a_run_is_counted(monkeypatch):
    """Per-run state (issue 40): a model's results take its own clock's seconds, not a process global."""
    ticks = iter([0.0, 1.0, 5.0, 10.0, 14.0])  # the phase outside a run reads the time once: its start
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(ticks))
    first, second = progress.Clock(), progress.Clock()
    with progress.scope("a", first), progress.phase("classify", 1):
        pass
    with progress.phase("classify", 1):  # outside any run's scope
        pass
    with progress.scope("a", second), progress.phase("classify", 1):
        pass
    assert first.take() == {"a · classify": 1.0} and second.take() == {"a · classify": 4.0}, \
        "a phase was counted on another run's clock"


def test_a_phase_counts_on_the_innermost_run_s_clock(monkeypatch):
    """A scope with its own clock inside another run's: its phases are that run's, not the outer one's."""
    ticks = iter([0.0, 2.0])
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(ticks))
    outer, inner = progress.Clock(), progress.Clock()
    with progress.scope("a", outer), progress.scope("b", inner), progress.phase("rewrite", 1):
        pass
    assert inner.take() == {"b · rewrite": 2.0}
    assert outer.take() == {}, "the inner run's phase was counted on the outer run's clock"
