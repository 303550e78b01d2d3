"""Cache of quantized checkpoints, keyed by (model, backend, config, calibration).

An entry is a directory ``<root>/<key>/`` holding a loadable checkpoint plus ``qx_cache.json``
(what it was made from). It is written to a temporary sibling and renamed into place only when
complete, so a failed quantization leaves nothing behind. Root: ``$QXBENCH_CACHE`` or
``~/.cache/qxbench/quantized``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from qxbench.errors import QxError

META = "qx_cache.json"


def cache_root() -> Path:
    return Path(os.environ.get("QXBENCH_CACHE") or Path.home() / ".cache" / "qxbench" / "quantized")


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


def cache_key(spec: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Entry:
    key: str
    path: Path
    spec: dict[str, object]
    bytes: int


def entries() -> list[Entry]:
    root = cache_root()
    out = []
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        meta = d / META
        if d.is_dir() and meta.is_file():
            size = sum(f.stat().st_size for f in d.rglob("*") if f.is_file())
            out.append(Entry(d.name, d, json.loads(meta.read_text()), size))
    return out


def remove(key: str) -> Path:
    known = {e.key: e for e in entries()}
    if key not in known:
        raise QxError(f"No cache entry '{key}'. Entries: {', '.join(sorted(known)) or '(none)'}")
    shutil.rmtree(known[key].path)
    return known[key].path


@contextmanager
def _staging(root: Path) -> Iterator[Path]:
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def get_or_create(spec: dict[str, object], build: Callable[[Path], None]) -> tuple[Path, bool]:
    """Return (entry directory, hit). On a miss ``build(tmpdir)`` writes the checkpoint."""
    root = cache_root()
    final = root / cache_key(spec)
    if (final / META).is_file():
        return final, True
    with _staging(root) as tmp:
        build(tmp)
        (tmp / META).write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")
        if final.exists():  # a half-written or concurrent entry: replace it
            shutil.rmtree(final)
        tmp.rename(final)
    return final, False
