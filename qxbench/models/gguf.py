"""What the models converted from a GGUF file share: the model cache, the staging directory that is
renamed into place, the provenance file and the float32 ``save_pretrained`` of a dequantized model.

A converted model lives in ``$QXBENCH_HOME/models/<name>-<version>`` (default
``~/.cache/qxbench/models``); its ``qx_model.json`` records where the weights came from. A
conversion writes into a hidden staging directory beside it and renames it into place only when
every file (provenance last) is written, so a killed or failed conversion leaves nothing that
looks like a model.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qxbench.errors import QxError
from qxbench.home import home

PROVENANCE = "qx_model.json"


def models_root() -> Path:
    return home() / "models"


def sha256(path: Path, block: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(block):
            h.update(chunk)
    return h.hexdigest()


def provenance(path: str) -> dict[str, object] | None:
    """What ``qx_model.json`` in a model directory says (None for other models)."""
    file = Path(path) / PROVENANCE
    return json.loads(file.read_text()) if file.is_file() else None


def ensure(target: Path, convert: Callable[[Path], dict[str, object]]) -> Path:
    """``target``, converting on first use: ``convert(staging)`` writes the model into ``staging`` and
    returns its provenance, written last; then ``staging`` is renamed to ``target``. On any error
    the staging directory is removed (nothing half-written is left in the cache)."""
    if (target / PROVENANCE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{target.name}-", dir=target.parent))
    try:
        record = convert(staging)
        record["weights_sha256"] = sha256(staging / "model.safetensors")
        (staging / PROVENANCE).write_text(json.dumps(record, indent=1) + "\n")
        try:
            staging.rename(target)
        except OSError:  # another process finished first: keep its copy
            if not (target / PROVENANCE).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


@contextmanager
def one_reader() -> Iterator[None]:
    """Within it, every ``gguf.GGUFReader`` of the same file is one reader. transformers parses the
    GGUF metadata once for the config and again for the weights, and a tokenizer reads it a third
    time; with Gemma's 262,144-token vocabulary each parse takes ~25 s (the tensors are memory-mapped,
    so sharing the reader changes no byte read). The library's class is restored in ``finally``."""
    import gguf

    real = gguf.GGUFReader
    readers: dict[tuple[str, str], Any] = {}

    def shared(path: Any, mode: str = "r") -> Any:
        key = (str(Path(path).resolve()), mode)
        if key not in readers:
            readers[key] = real(path, mode)
        return readers[key]

    gguf.GGUFReader = shared
    try:
        yield
    finally:
        gguf.GGUFReader = real


def read_gguf(folder: Path, file: str, name: str, install: str) -> Any:
    """The model transformers builds from a GGUF file, dequantized to float32 (it needs ``gguf``)."""
    import torch
    from transformers import AutoModelForCausalLM

    try:
        return AutoModelForCausalLM.from_pretrained(folder, gguf_file=file, dtype=torch.float32)
    except ImportError as err:  # transformers needs the ``gguf`` package to read the file
        raise QxError(f"Model '{name}': reading its GGUF file needs the gguf package: {install} ({err})") from None


def save_dense(loaded: Any, cls: type, out: Path, special: dict[str, int]) -> Any:
    """Save ``loaded`` as a plain ``cls`` model in float32: the GGUF quantization config is dropped
    (``save_pretrained`` refuses it) and the special token ids are set in the config and generation
    config. Returns the saved model."""
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = cls(config)
    model.load_state_dict(loaded.state_dict())
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        setattr(model.config, key, special[key])
        setattr(model.generation_config, key, special[key])
    model.save_pretrained(out)
    return model
