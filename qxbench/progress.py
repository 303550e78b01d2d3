"""Progress of the probes: one bar per phase, counted in documents, on stderr (tqdm).

lm-eval shows one bar per standard request type; a probe request type runs several passes (classify,
rewrite, re-classify, perplexity ...), each over every document, so each pass gets its own bar:

    cf_flip · classify:  100%|██████████| 500/500 [00:09<00:00, 52.1doc/s]
    cf_flip · rewrite:    36%|███▌      | 180/500 [00:33<00:58, 5.4doc/s]

While a phase runs, lm-eval's own bars of the loglikelihood calls it makes are off: their requests
advance the phase's bar instead (``requests`` of them make up the phase). When documents are answered
chunk by chunk (``--use_cache``, see :mod:`qxbench.lmeval.resume`), one bar counts documents for the
whole request type and each chunk's phase bars vanish when done.
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
_seconds: dict[str, float] = {}  # wall seconds per phase label ("tasks · title"), since last taken


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
        _seconds[self.label] = round(_seconds.get(self.label, 0.0) + time.perf_counter() - self.start, 3)


def take_seconds() -> dict[str, float]:
    """The wall seconds of every phase closed since the last call, keyed by its bar's label (a phase
    run again, e.g. once per chunk, adds up); a phase nested in another is counted in both."""
    out = dict(_seconds)
    _seconds.clear()
    return out


@contextmanager
def scope(label: str) -> Iterator[None]:
    """Phases opened inside are titled ``label · phase`` (label: the task names)."""
    _scopes.append(label)
    try:
        yield
    finally:
        _scopes.pop()


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
