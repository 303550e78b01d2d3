"""``$QXBENCH_HOME`` governs every file qxbench writes (qxbench/home.py's table), each override still wins."""

from __future__ import annotations

from pathlib import Path

from qxbench import logs
from qxbench.models.gguf import models_root
from qxbench.probes import refcache
from qxbench.quant.cache import cache_root


def test_every_file_qxbench_writes_lives_under_one_home(tmp_path, monkeypatch):
    for name in ("QXBENCH_CACHE", "QXBENCH_LOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QXBENCH_HOME", str(tmp_path))
    assert models_root() == tmp_path / "models"
    assert cache_root() == tmp_path / "quantized"
    assert refcache.root("labels") == tmp_path / "labels"
    assert refcache.root() == tmp_path / "attributions"
    assert logs.log_path(None).parent == tmp_path / "logs"
    assert logs.log_path(tmp_path / "runs") == tmp_path / "runs" / "qxbench.log"  # a run's own output folder first


def test_the_overrides_still_win(tmp_path, monkeypatch):
    monkeypatch.setenv("QXBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("QXBENCH_CACHE", str(tmp_path / "q"))
    monkeypatch.setenv("QXBENCH_LOG", str(tmp_path / "my.log"))
    assert cache_root() == tmp_path / "q"
    assert logs.log_path(None) == tmp_path / "my.log"


def test_the_default_home_is_the_user_cache(monkeypatch):
    for name in ("QXBENCH_HOME", "QXBENCH_CACHE", "QXBENCH_LOG"):
        monkeypatch.delenv(name, raising=False)
    assert cache_root() == Path.home() / ".cache" / "qxbench" / "quantized"
    assert logs.log_path(None).parent == Path.home() / ".cache" / "qxbench" / "logs"
