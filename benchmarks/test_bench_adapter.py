"""The ``qx`` adapter against lm-eval's ``hf`` on the same checkpoint (construction, and a whole
evaluation), and the start-up of ``qxbench eval`` against the stock ``lm_eval`` command: the
functions of benchmarks/speed/adapter_overhead.py, reused."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks.common import once
from benchmarks.speed.adapter_overhead import cli_start, construct, evaluate_world


def _model_args(model: str) -> tuple[str, str]:
    from qxbench.resolve import resolve_pretrained

    return (model, "pretrained=qx-tiny") if model == "qx" else (model, f"pretrained={resolve_pretrained('qx-tiny')}")


@pytest.mark.benchmark(group="adapter construction (qx-tiny)")
@pytest.mark.parametrize("model", ["qx", "hf"])
def test_construct(benchmark, model):
    once(benchmark, lambda: construct(*_model_args(model)), rounds=5)


@pytest.mark.benchmark(group="adapter evaluation (qx-tiny, world_onehop + world_twohop + world_sentiment)")
@pytest.mark.parametrize("model", ["qx", "hf"])
def test_evaluate(benchmark, model):
    once(benchmark, lambda: evaluate_world(*_model_args(model)), rounds=3)


@pytest.mark.benchmark(group="start-up: a --limit 1 run from the command line")
@pytest.mark.parametrize("command", ["qxbench eval", "lm_eval"])
def test_start_up(benchmark, command):
    bindir = Path(sys.executable).parent
    tiny = ["--model", "qx", "--tasks", "world_onehop", "--limit", "1", "--device", "cpu"]
    argv = [str(bindir / "qxbench"), "eval", *tiny] if command == "qxbench eval" else [str(bindir / "lm_eval"), *tiny]
    once(benchmark, lambda: cli_start(argv), rounds=2)
