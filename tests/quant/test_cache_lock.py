"""The cache under concurrency and failure: one build per key, leftovers of killed runs, unusable roots."""

from __future__ import annotations

import errno
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from qxbench.errors import QxError
from qxbench.quant import cache

SPEC = {"model": "m", "bits": 4}


@pytest.fixture(autouse=True)
def _root(tmp_path, monkeypatch):
    monkeypatch.setenv("QXBENCH_CACHE", str(tmp_path / "c"))


def _slow_build_and_count(root: str, log: str, ready) -> None:  # noqa: ANN001
    """Runs in a child process: both children ask for the same key at once."""
    os.environ["QXBENCH_CACHE"] = root

    def build(out: Path) -> None:
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
        time.sleep(1.5)
        (out / "model.bin").write_text("x")

    ready.wait()
    path, hit = cache.get_or_create(SPEC, build)
    with open(log + ".done", "a") as f:
        f.write(f"{path} {hit}\n")


def test_two_processes_quantizing_the_same_config_build_it_once(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    log = str(tmp_path / "builds")
    procs = [ctx.Process(target=_slow_build_and_count, args=(os.environ["QXBENCH_CACHE"], log, ready))
             for _ in range(2)]
    for p in procs:
        p.start()
    ready.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert len(Path(log).read_text().split()) == 1  # one build
    done = sorted(Path(log + ".done").read_text().splitlines())
    assert [line.split()[1] for line in done] == ["False", "True"]  # the second loaded the first one's entry
    assert len({line.split()[0] for line in done}) == 1
    assert [e.spec for e in cache.entries()] == [SPEC]
    assert sorted(p.name for p in cache.cache_root().iterdir()) == [cache.cache_key(SPEC)]  # no lock, no staging


def _leftover(key: str = "0" * 20) -> Path:
    """What a quantization killed mid-build leaves: a staging directory nobody holds a lock for."""
    d = cache.cache_root() / f"{cache.STAGING}{key}-12345-abcd"
    d.mkdir(parents=True)
    (d / "model-00001.safetensors").write_bytes(b"x" * 1000)
    return d


def test_leftovers_of_a_killed_run_are_listed_and_removed_by_cache_rm(capsys):
    from qxbench.cli import main

    left = _leftover()
    assert [p for p, _ in cache.stale()] == [left]
    assert main(["cache", "ls"]) == 0
    listing = capsys.readouterr().out
    assert f"{left.name}  stale: left by an interrupted quantization" in listing
    assert main(["cache", "rm", "--stale"]) == 0
    assert f"removed {left} (stale)" in capsys.readouterr().out
    assert not left.exists()


def test_the_next_quantization_removes_leftovers():
    left = _leftover()
    cache.get_or_create(SPEC, lambda out: None)
    assert not left.exists()


def test_a_staging_directory_whose_key_is_locked_is_not_stale():
    import fcntl

    key = "1" * 20
    busy = _leftover(key)
    fd = os.open(cache.cache_root() / f"{cache.LOCK}{key}", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert cache.stale() == []
        assert cache.remove_stale() == []
        assert busy.exists()
    finally:
        os.close(fd)
    assert [p for p, _ in cache.stale()] == [busy]


def test_a_root_that_is_a_file_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("QXBENCH_CACHE", str(tmp_path / "file"))
    (tmp_path / "file").write_text("")
    with pytest.raises(QxError, match=r"^Cannot use the quantized-model cache .*file: it is not a directory; "
                                      r"free it or set QXBENCH_CACHE to another directory$"):
        cache.get_or_create(SPEC, lambda out: None)
    with pytest.raises(QxError, match="it is not a directory"):
        cache.entries()


def test_a_read_only_root_is_one_line(monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(cache.os, "open", read_only)  # the lock file is the first thing written
    with pytest.raises(QxError, match=r"^Cannot use the quantized-model cache .*: Read-only file system; "
                                      r"free it or set QXBENCH_CACHE"):
        cache.get_or_create(SPEC, lambda out: None)


def test_a_full_disk_is_one_line_and_leaves_nothing():
    def build(out):
        (out / "part").write_text("x")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(QxError, match=r"^Cannot use the quantized-model cache .*: No space left on device; "):
        cache.get_or_create(SPEC, build)
    assert list(cache.cache_root().iterdir()) == []


def test_another_os_error_of_the_build_is_not_blamed_on_the_cache():
    def build(out):
        raise FileNotFoundError(errno.ENOENT, "No such file", "model.safetensors")

    with pytest.raises(FileNotFoundError):
        cache.get_or_create(SPEC, build)
    assert list(cache.cache_root().iterdir()) == []
