"""Turn a ``pretrained=`` value into something ``from_pretrained`` accepts, or one clear error.

Order: an embedded model name (``qx-tiny``), a model that installs from the package registry
(``smollm2-135m``, converted into the model cache on first use), an existing local directory, a
Hugging Face id.
"""

from __future__ import annotations

import re
from pathlib import Path

from qxbench.errors import QxError
from qxbench.lazy import attribute
from qxbench.models import EMBEDDED_MODELS, INSTALLED_MODELS

WEIGHTS = ("*.safetensors", "*.safetensors.index.json", "pytorch_model*.bin", "*.gguf")
TOKENIZER = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")
# "gpt2", "org/name", "org/name-v1.5": what the Hub accepts as a repo id.
_HF_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


def resolve_pretrained(name: str) -> str:
    embedded = ", ".join(sorted([*EMBEDDED_MODELS, *INSTALLED_MODELS]))
    if name in EMBEDDED_MODELS:
        path = EMBEDDED_MODELS[name]
        if not (path / "config.json").is_file():
            raise QxError(f"Embedded model '{name}' has no weights at {path}; rebuild it with `qxbench world train`")
        return str(path)
    if name in INSTALLED_MODELS:
        return str(attribute(INSTALLED_MODELS[name], "ensure")())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise QxError(f"Model path '{name}' is not a model directory (no config.json in it)")
        if not any(next(path.glob(pattern), None) for pattern in WEIGHTS):
            raise QxError(f"Model path '{name}' has a config.json but no weights ({', '.join(WEIGHTS)})")
        if not any((path / f).is_file() for f in TOKENIZER):
            raise QxError(f"Model path '{name}' has no tokenizer ({', '.join(TOKENIZER)}); "
                          "save one with tokenizer.save_pretrained")
        return str(path)
    if name.startswith((".", "/", "~")) or not _HF_ID.match(name):
        raise QxError(
            f"Unknown model '{name}': no such directory, not an embedded model ({embedded}), "
            "and not a Hugging Face id (org/name)"
        )
    return name
