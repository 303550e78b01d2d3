"""Progress of the probes: one bar per phase, counted in documents, on stderr (tqdm).

lm-eval shows one bar per standard request type; a probe request type runs several passes (classify,
rewrite, re-classify, perplexity ...), each over every document, so each pass gets its own bar:

    cf_flip · classify:  100%|██████████| 500/500 [00:09<00:00, 52.1doc/s]
    cf_flip · rewrite:    36%|███▌      | 180/500 [00:33<00:58, 5.4doc/s]

While a phase runs, lm-eval's own bars of the loglikelihood calls it makes are off: their requests
advance the phase's bar instead (``requests`` of them make up the phase). When documents are answered
chunk by chunk (``--use_cache``, see :mod:`qxbench.lmeval.resume`), one bar counts documents for the
whole request type and each chunk's phase bars vanish when done.

The seconds a run reports are per-run state, never a global: each ``qx`` model owns a :class:`Clock`, passed
to :func:`scope` when it answers a request type; the phases closed inside add their seconds to it, and the
model's results take them (``config.qx.phase_seconds``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

from qxbench import distributed

_scopes: list[str] = []  # the tasks whose requests are being answered (innermost last)
_phases: list[Phase] = []  # the open phases (innermost last)
_outer: list[tqdm] = []  # the open document bars of chunked answers
_clocks: list[Clock] = []  # the clocks of the open scopes that were given one (innermost last)


class Clock:
    """Wall seconds per label since last taken: one run's, owned by its model and passed explicitly."""

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}

    def add(self, label: str, seconds: float) -> None:
        """``seconds`` more under ``label`` (a phase or request type run again adds up)."""
        self._seconds[label] = round(self._seconds.get(label, 0.0) + seconds, 3)

    def take(self) -> dict[str, float]:
        """The seconds counted since the last call; the count starts again."""
        out, self._seconds = self._seconds, {}
        return out


class Phase:
    """A bar of ``total`` units. ``requests``: how many lm-eval requests the phase sends; each one
    answered advances the bar by ``total / requests`` (None: only :meth:`advance` moves it)."""

    def __init__(self, title: str, total: int, unit: str = "doc", requests: int | None = None) -> None:
        label = f"{_scopes[-1]} · {title}" if _scopes else title
        self.bar = tqdm(total=total, desc=label, unit=unit, file=sys.stderr, leave=not _outer, dynamic_ncols=True,
                        disable=not distributed.is_main())  # data parallel: rank 0's bars stand for all
        self.total, self.requests, self.answered = total, requests, 0
        self.label, self.start = label, time.perf_counter()

    def advance(self, n: int = 1) -> None:
        self.bar.update(max(0, min(n, self.total - self.bar.n)))

    def request_answered(self, n: int = 1) -> None:
        if not self.requests:
            return
        self.answered += n
        self.advance(self.answered * self.total // self.requests - self.bar.n)

    def close(self, done: bool) -> None:
        if done:
            self.advance(self.total - self.bar.n)
        self.bar.close()
        if _clocks:  # a phase nested in another is counted in both
            _clocks[-1].add(self.label, time.perf_counter() - self.start)


@contextmanager
def scope(label: str, clock: Clock | None = None) -> Iterator[None]:
    """Phases opened inside are titled ``label · phase`` (label: the task names) and, with a ``clock``, add
    their wall seconds to it under that title (else to the enclosing scope's clock, if any)."""
    _scopes.append(label)
    if clock is not None:
        _clocks.append(clock)
    try:
        yield
    finally:
        _scopes.pop()
        if clock is not None:
            _clocks.pop()


@contextmanager
def phase(title: str, total: int, unit: str = "doc", requests: int | None = None) -> Iterator[Phase]:
    current = Phase(title, total, unit, requests)
    _phases.append(current)
    done = False
    try:
        yield current
        done = True
    finally:
        _phases.pop()
        current.close(done)


def active() -> Phase | None:
    """The innermost open phase, or None outside the probes."""
    return _phases[-1] if _phases else None


@contextmanager
def documents(total: int, cached: int) -> Iterator[tqdm]:
    """The bar of a request type answered chunk by chunk; ``cached`` documents are already done."""
    label = _scopes[-1] if _scopes else "documents"
    bar = tqdm(total=total, initial=cached, desc=f"{label} ({cached} from cache)", unit="doc", file=sys.stderr,
               dynamic_ncols=True, disable=not distributed.is_main())
    _outer.append(bar)
    try:
        yield bar
    finally:
        _outer.pop()
        bar.close()


class CountingHook:
    """Stands in for an LM's ``cache_hook`` during a phase: lm-eval calls ``add_partial`` once per
    answered loglikelihood request; that advances the phase, and the call goes on to the real hook."""

    def __init__(self, inner: Any, current: Phase) -> None:
        self.inner, self.current = inner, current

    def add_partial(self, attr: str, req: Any, res: Any) -> None:
        if attr == "loglikelihood":
            self.current.request_answered()
        self.inner.add_partial(attr, req, res)
