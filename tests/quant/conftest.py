from __future__ import annotations

import importlib.util
from collections.abc import Callable

import pytest


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """A private quantized-model cache for one test module."""
    path = tmp_path_factory.mktemp("qxcache")
    mp = pytest.MonkeyPatch()
    mp.setenv("QXBENCH_CACHE", str(path))
    yield path
    mp.undo()


@pytest.fixture()
def hide_module(monkeypatch) -> Callable[[str], None]:
    """Make ``importlib.util.find_spec`` report a module as not installed."""
    real = importlib.util.find_spec

    def hide(module: str) -> None:
        def find_spec(name, *args):
            return None if name == module else real(name, *args)

        monkeypatch.setattr(importlib.util, "find_spec", find_spec)

    return hide
