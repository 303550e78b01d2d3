"""Data parallelism under ``accelerate launch -m lm_eval --model qx ...`` (one process per GPU, or per
CPU slot with the gloo backend).

lm-eval shards each task's documents by rank (document ``i`` goes to rank ``i % world``), pads the
ranks to the same number of requests with copies of their last request, calls each request type on
every rank, then gathers the per-document metrics to rank 0, which alone aggregates and writes the
results. Its HF model only takes a rank when there is more than one CUDA device; the ``qx`` model
takes it from accelerate on any device (:meth:`qxbench.lmeval.adapter.QXLM.__init__`), so CPU processes share
the work too.

What the ``qx`` model adds (single process: every helper here is a no-op):

* a quantized model is made once: rank 0 quantizes into the cache while the others wait, then every
  rank loads the entry (:func:`quantize_apart`); ``config.qx.processes`` records what each rank did.
  Backends that quantize while loading (bitsandbytes, torchao: seconds, deterministic) do so on every
  rank, as each process needs its own model;
* the probe answers that depend on every document (the neurons probe's corpus statistics) combine
  the ranks' partial statistics with :func:`all_gather` (:mod:`qxbench.probes.neurons`);
* padding copies are answered once (:func:`qxbench.lmeval.requests.request_type`);
* library logs and progress bars come from rank 0 only (:func:`is_main`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import nullcontext
from datetime import timedelta
from typing import Any


def env_rank() -> int:
    """This process's rank as the launcher set it (``RANK``; 0 outside a launcher)."""
    return int(os.environ.get("RANK", "0") or 0)


def env_world() -> int:
    """How many processes the launcher started (``WORLD_SIZE``; 1 outside a launcher)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def is_main() -> bool:
    return env_rank() == 0


def accelerator() -> Any | None:
    """accelerate's ``Accelerator`` when this process is one of several (it joins the process group:
    NCCL on CUDA, gloo on CPU), else None. Its state is shared with the one lm-eval's HFLM makes."""
    if env_world() <= 1:
        return None
    from accelerate import Accelerator
    from accelerate.utils import InitProcessGroupKwargs

    acc = Accelerator(kwargs_handlers=[InitProcessGroupKwargs(timeout=timedelta(weeks=52))])
    return acc if acc.num_processes > 1 else None


def main_first(acc: Any | None) -> Any:
    """A context in which rank 0 runs first and the other ranks wait for it (then run)."""
    return acc.main_process_first() if acc is not None else nullcontext()


# What a launcher (torchrun, accelerate) sets; a child process without them is a plain single process.
LAUNCHER_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK", "GROUP_WORLD_SIZE", "ROLE_RANK",
                "ROLE_NAME", "ROLE_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def quantize_apart(model: str, model_args: str, device: str) -> bool:
    """``qxbench quantize`` in a child process outside the process group (called on rank 0, the other
    ranks waiting). llm-compressor and compressed-tensors split their work across the ranks of any
    process group they find, so quantizing inside the group on one rank alone would wait forever; all
    ranks then load the cached entry together. True when it quantized (False: the entry existed)."""
    from qxbench.errors import QxError
    from qxbench.quant import cache

    before = {e.key for e in cache.entries()}

    env = {k: v for k, v in os.environ.items()
           if k not in LAUNCHER_ENV and not k.startswith(("TORCHELASTIC_", "ACCELERATE_", "OMPI_", "PMI_"))}
    command = [sys.executable, "-m", "qxbench.cli", "quantize", model, "--model_args", model_args, "--device", device]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise QxError(f"quantizing {model} ({model_args}) on rank 0 failed: {lines[-1] if lines else done.returncode}")
    return bool({e.key for e in cache.entries()} - before)


def _group() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def all_gather(obj: Any) -> list[Any]:
    """``obj`` of every rank, in rank order (``[obj]`` in a single process). Every rank must call it."""
    if not _group():
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def agree(flag: bool) -> bool:
    """True on every rank only when ``flag`` is true on every rank (e.g. "all my answers are cached"), so
    that the ranks take the same branch around a collective call."""
    return all(all_gather(bool(flag)))
