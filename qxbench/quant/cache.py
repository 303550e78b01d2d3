"""Cache of quantized checkpoints, keyed by (model, backend, config, calibration).

An entry is a directory ``<root>/<key>/`` holding a loadable checkpoint plus ``qx_cache.json``
(what it was made from). It is written to a staging sibling ``.staging-<key>-<pid>-*`` and renamed
into place only when complete, so a failed quantization leaves no entry. Root: ``$QXBENCH_CACHE`` or
``$QXBENCH_HOME/quantized`` (:mod:`qxbench.home`).

Quantizing holds a per-key lock (``.lock-<key>``, ``fcntl.flock``): a second process asking for the
same config waits, then loads the entry the first one made instead of quantizing again. A staging
directory whose key nobody holds was left by a killed process: ``qxbench cache ls`` lists it as
stale, ``qxbench cache rm --stale`` and the next quantization remove it. A cache root that is not a
directory, cannot be written or runs out of space ends the run with one line naming it and the
variable that moves it.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from qxbench.errors import QxError
from qxbench.home import home

META = "qx_cache.json"
ENV = "QXBENCH_CACHE"
STAGING = ".staging-"
LOCK = ".lock-"
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)  # out of space or read-only, wherever it is raised


def cache_root() -> Path:
    return Path(os.environ.get(ENV) or home() / "quantized")


def model_fingerprint(path: str) -> str:
    """Local checkpoints: the config plus name, size and mtime of every file; Hub ids: the id."""
    p = Path(path)
    if not p.is_dir():
        return path
    h = hashlib.sha256()
    for f in sorted(p.iterdir()):
        if f.is_file():
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


SHA256 = re.compile(r"[0-9a-f]{64}")  # what weights_sha256 returns (merge checks a stored one against it)


def checkpoint_sha256(folder: Path) -> str | None:
    """:func:`weights_sha256` of a checkpoint folder the user names (``quant=prequantized``), or None where it holds
    no ``*.safetensors`` file (weights in ``.bin`` files load as before; ``qxbench merge`` then notes them
    unchecked) or is no folder here (a Hub id)."""
    return weights_sha256(folder) if folder.is_dir() and _weight_files(folder) else None


def _weight_files(folder: Path) -> list[Path]:
    """The ``*.safetensors`` files at the top of ``folder``, in name order: what transformers loads (a sub-folder
    such as ``checkpoint-500/`` is another checkpoint, and a folder named ``x.safetensors`` no weights)."""
    return sorted(f for f in folder.glob("*.safetensors") if f.is_file())


def weights_sha256(entry: Path) -> str:
    """sha256 of a checkpoint's weights: every ``*.safetensors`` file at the top of ``entry``
    (:func:`_weight_files`), in name order, its name and its bytes. What a run of a cached config evaluated, so
    that two runs can be told to have used the same quantized weights (``qxbench merge``); a config that
    quantizes again (other machine, threads) may not."""
    files = _weight_files(entry)
    if not files:
        raise QxError(f"Cache entry {entry} holds no *.safetensors file: remove it (qxbench cache rm {entry.name})")
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.relative_to(entry).as_posix()}\n".encode())
        with f.open("rb") as fh:
            while chunk := fh.read(1 << 24):
                h.update(chunk)
    return h.hexdigest()


def cache_key(spec: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:20]


def _unusable(root: Path, err: OSError | str) -> QxError:
    reason = err if isinstance(err, str) else (err.strerror or str(err))
    return QxError(f"Cannot use the quantized-model cache {root}: {reason}; free it or set {ENV} to another directory")


def _root(*, create: bool) -> Path:
    root = cache_root()
    if root.exists() and not root.is_dir():
        raise _unusable(root, "it is not a directory")
    if create:
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise _unusable(root, err) from None
        if not os.access(root, os.W_OK | os.X_OK):
            raise _unusable(root, "it is not writable")
    return root


@dataclass(frozen=True)
class Entry:
    key: str
    path: Path
    spec: dict[str, object]
    bytes: int


def _size(d: Path) -> int:
    return sum(f.stat().st_size for f in d.rglob("*") if f.is_file())


def entries() -> list[Entry]:
    root = _root(create=False)
    out = []
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        meta = d / META
        if d.is_dir() and not d.name.startswith(".") and meta.is_file():
            out.append(Entry(d.name, d, json.loads(meta.read_text()), _size(d)))
    return out


def remove(key: str) -> Path:
    known = {e.key: e for e in entries()}
    if key not in known:
        raise QxError(f"No cache entry '{key}'. Entries: {', '.join(sorted(known)) or '(none)'}")
    shutil.rmtree(known[key].path)
    return known[key].path


# -- the per-key lock and leftovers of killed processes -------------------------------------------------
def _held(root: Path, key: str) -> bool:
    """Whether a process holds ``key``'s lock now (never creates the lock file)."""
    try:
        fd = os.open(root / f"{LOCK}{key}", os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _staging_key(d: Path) -> str | None:
    key = d.name[len(STAGING):].split("-", 1)[0]
    return key if len(key) == 20 else None  # None: an older qxbench's unkeyed staging directory


def stale(mine: str | None = None) -> list[tuple[Path, int]]:
    """Staging directories no running quantization owns (``mine``: a key this process holds)."""
    root = _root(create=False)
    found = []
    for d in sorted(root.glob(f"{STAGING}*")) if root.is_dir() else []:
        key = _staging_key(d)
        if d.is_dir() and (key is None or key == mine or not _held(root, key)):
            found.append((d, _size(d)))
    return found


def remove_stale(mine: str | None = None) -> list[Path]:
    removed = []
    for d, _ in stale(mine):
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


@contextmanager
def _lock(root: Path, key: str) -> Iterator[None]:
    """Exclusive per-key lock. The holder removes the file before it lets go; a waiter that then
    finds its file gone (or replaced) opens the new one and waits again."""
    path = root / f"{LOCK}{key}"
    waited = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not waited:
                print(f"qxbench: waiting for another process quantizing the same config (lock {path})",
                      file=sys.stderr, flush=True)
                waited = True
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


@contextmanager
def _staging(root: Path, key: str) -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(prefix=f"{STAGING}{key}-{os.getpid()}-", dir=root))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _build(build: Callable[[Path], None], tmp: Path, root: Path) -> OSError | None:
    """Run ``build``; out of space or read-only is the cache's one line, any other OSError is returned
    (it is the model's or the library's, raised again once the staging directory is gone)."""
    try:
        build(tmp)
    except OSError as err:
        if err.errno in _FULL:
            raise _unusable(root, err) from None
        return err
    return None


def get_or_create(spec: dict[str, object], build: Callable[[Path], None]) -> tuple[Path, bool]:
    """Return (entry directory, hit). On a miss ``build(tmpdir)`` writes the checkpoint, under the key's
    lock; a process that waited for the lock finds the entry made and returns it as a hit."""
    key = cache_key(spec)
    final = cache_root() / key
    if (final / META).is_file():
        return final, True
    root = _root(create=True)
    failure: OSError | None = None
    try:
        with _lock(root, key):
            if (final / META).is_file():  # made by the process we waited for
                return final, True
            remove_stale(mine=key)
            with _staging(root, key) as tmp:
                failure = _build(build, tmp, root)
                if failure is None:
                    (tmp / META).write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")
                    if final.exists():  # a half-written entry of an older qxbench: replace it
                        shutil.rmtree(final)
                    tmp.rename(final)
    except OSError as err:  # the lock, the staging directory, the metadata, the rename
        raise _unusable(root, err) from None
    if failure is not None:
        raise failure
    return final, False
