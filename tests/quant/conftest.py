from __future__ import annotations

import importlib.util
from collections.abc import Callable

import pytest


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """A private quantized-model cache for one test module."""
    path = tmp_path_factory.mktemp("qxcache")
    mp = pytest.MonkeyPatch()
    mp.setenv("QXBENCH_CACHE", str(path))
    yield path
    mp.undo()


@pytest.fixture()
def hide_module(monkeypatch) -> Callable[[str], None]:
    """Make ``importlib.util.find_spec`` report a module as not installed."""
    real = importlib.util.find_spec

    def hide(module: str) -> None:
        def find_spec(name, *args):
            return None if name == module else real(name, *args)

        monkeypatch.setattr(importlib.util, "find_spec", find_spec)

    return hide


def linear_share(quantized, fp) -> float:  # noqa: ANN001 (two QXLM runs of the same checkpoint)
    """Bytes the quantized Linear layers take, as a share of the same layers in full precision: what
    is left after subtracting what no backend quantizes (embeddings, lm_head, norms) from both."""
    import torch

    linear = sum(m.weight.numel() * m.weight.element_size() for n, m in fp.model.named_modules()
                 if isinstance(m, torch.nn.Linear) and not n.endswith("lm_head"))
    rest = fp.qx.summary.weight_bytes - linear
    return (quantized.qx.summary.weight_bytes - rest) / linear
