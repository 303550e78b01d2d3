"""The ``qx`` lm-eval model: HFLM plus model resolution, quantization and a ``qx`` results block.

    lm_eval --model qx --model_args pretrained=qx-tiny,quant=none --tasks ...

With ``quant=none`` (the default) the checkpoint is handed to HFLM unchanged, so loglikelihoods and
generations are exactly those of ``--model hf``. Other backends come from :mod:`qxbench.quant`;
their model instance is handed to HFLM the same way.

Probe tasks (see :mod:`qxbench.lmeval.probe`) emit ``Instance(request_type=NAME)``; lm-eval's evaluator
then calls ``getattr(lm, NAME)(requests)``, so each probe request type is a method of this class
(all in :class:`qxbench.lmeval.requests.ProbeRequests`).

``reference`` names the full-precision model that some probe metrics compare against (fluency of
counterfactuals under the reference, surviving top-300 neurons): ``auto`` (default) is the same
checkpoint unquantized (the model itself when ``quant=none``), ``none`` turns those metrics off
(saves loading a second model), anything else is a model name or path loaded in full precision.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from lm_eval.models.huggingface import HFLM

from qxbench import distributed, progress
from qxbench.errors import QxError, first_line
from qxbench.lmeval import resume
from qxbench.lmeval.requests import ProbeRequests
from qxbench.model_checks import check_model_args, loading
from qxbench.models import DEFAULT_MODEL, EMBEDDED_MODELS
from qxbench.models.gguf import provenance
from qxbench.quant import QuantRequest, get_quantizer
from qxbench.quant.calibration import Calibration, default_source
from qxbench.quant.registry import check_dtype, resolve_dtype
from qxbench.resolve import resolve_pretrained
from qxbench.summary import ModelSummary, summarize

ONEDNN_CACHE = "ONEDNN_PRIMITIVE_CACHE_CAPACITY"


def cap_onednn_cache(capacity: int = 16) -> None:
    """Cap oneDNN's primitive cache (default 1,024) unless the environment sets it. bitsandbytes' CPU int8
    matmul is ``torch._int_mm``, which oneDNN runs keeping a primitive per input shape; the continuous
    batching and the classification passes make many, and a 0.5B explanation run at bnb-int8 grew past
    20 GB (``benchmarks/speed/bnb_memory.py``, docs/qwen.md). oneDNN reads the variable once, at its
    first primitive: this runs when the ``qx`` model's module is imported, before any model runs."""
    os.environ.setdefault(ONEDNN_CACHE, str(capacity))


cap_onednn_cache()


def _opt_int(name: str, value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise QxError(f"{name}={value!r} is not a whole number") from None


def _device(device: object) -> str:
    """The device a quantized model is loaded onto, chosen by HFLM's rule for a model name: a device
    that exists is used; an unknown or absent one (lm-eval's CLI default is ``cuda:0``, even on a
    CPU-only machine) means CUDA when there is one, else the CPU."""
    import torch

    gpus = torch.cuda.device_count()
    if device == "cuda" and gpus == 0:
        raise QxError("device 'cuda' was requested but torch sees no CUDA device; use --device cpu")
    if device in ("cpu", "cuda", "mps", *(f"cuda:{i}" for i in range(gpus))):
        return str(device)
    return "cuda" if gpus else "cpu"


CONFIG_SCHEMA = "qxbench-config/1"  # config.qx's version; leaderboard/read/schema.py reads it


@dataclass(frozen=True)
class QxRunInfo:
    """Recorded as ``config.qx`` in lm-eval's results JSON, with ``schema`` (:data:`CONFIG_SCHEMA`)."""

    model: str
    path: str
    quant: str
    dtype: str  # what the model computes in: its unquantized weights' dtype and every backend's compute dtype
    bits: int | None
    group_size: int | None
    calibration: dict[str, object] | None
    quantize_seconds: float  # load + quantize, or load from the cache on a hit; both include quantized_sha256's read
    cache_path: str | None
    cache_hit: bool | None
    summary: ModelSummary
    reference: str = "auto"  # the full-precision reference for probe metrics (see the module docstring)
    provenance: dict[str, object] | None = None  # where an installed model's weights came from (qx_model.json)
    processes: list[dict[str, object]] | None = None  # `accelerate launch`: each rank's load (qxbench.distributed)
    quantized_sha256: str | None = None  # the quantized checkpoint's weights (gptq, awq, rtn, prequantized), see merge

    def as_dict(self) -> dict[str, Any]:
        out = {"schema": CONFIG_SCHEMA, **asdict(self)}
        out["summary"] = self.summary.as_dict()
        return out


class QXLM(ProbeRequests, HFLM):
    def __init__(
        self,
        pretrained: str = DEFAULT_MODEL,
        quant: str | None = "none",
        bits: int | str | None = None,
        group_size: int | str | None = None,
        calibration: str = "auto",
        calib_samples: int | str = 128,
        calib_split: str = "train",
        calib_column: str = "text",
        reference: str | None = "auto",
        dtype: str | None = "float32",
        _distributed: bool = True,  # False for the reference model a probe loads (no collective calls)
        **kwargs: Any,
    ) -> None:
        if not isinstance(pretrained, str):
            raise QxError(f"pretrained must be a model name or path, got {type(pretrained).__name__}")
        check_model_args(kwargs, QXLM, HFLM)
        source = str(calibration)
        if source == "auto":  # the synthetic world only for the embedded model it was made for
            embedded = {str(p.resolve()) for p in EMBEDDED_MODELS.values()}
            source = default_source(pretrained, pretrained in EMBEDDED_MODELS
                                    or str(Path(pretrained).expanduser().resolve()) in embedded)
        cal = Calibration(source, _opt_int("calib_samples", calib_samples) or 0, str(calib_split), str(calib_column))
        # lm-eval's model_args parser turns "none" into None (``simple_evaluate(model_args="quant=none")``)
        quant, reference = ("none" if v is None else v for v in (quant, reference))
        wanted = check_dtype("auto" if dtype is None else dtype)
        request = QuantRequest(str(quant), _opt_int("bits", bits), _opt_int("group_size", group_size), cal)
        quantizer = get_quantizer(request)
        path = resolve_pretrained(pretrained)
        request = replace(request, dtype=resolve_dtype(path, wanted))
        self._reference_name = str(reference)
        self._reference: QXLM | None = None
        if self._reference_name not in ("auto", "none"):
            resolve_pretrained(self._reference_name)  # fail now, not after the first pass

        start = time.perf_counter()
        if distributed.is_main():  # the load can take a while (a real model: ~20 s; quantizing: minutes)
            what = "full precision" if request.backend == "none" else f"quant={request.backend}"
            print(f"qxbench: loading {pretrained} ({what}) ...", file=sys.stderr, flush=True)
        acc = distributed.accelerator() if _distributed else None  # `accelerate launch`: this rank and its device
        device = str(acc.device) if acc is not None else _device(kwargs.get("device"))
        built: bool | None = None  # under data parallelism: did this rank quantize (None: while loading)
        if acc is not None and getattr(quantizer, "caches", False):  # quantized once, by rank 0, into the cache
            with distributed.main_first(acc):
                args = {"quant": quant, "bits": bits, "group_size": group_size, "calibration": calibration,
                        "calib_samples": calib_samples, "calib_split": calib_split, "calib_column": calib_column}
                line = ",".join(f"{k}={v}" for k, v in args.items() if v is not None and v != "")
                built = distributed.quantize_apart(pretrained, line, device) if acc.is_main_process else False
        try:
            with loading(pretrained):
                loaded = quantizer.load(path, request, device=device)
        except OSError as err:  # unreachable Hub id (offline), missing or unreadable files
            raise QxError(f"Could not load model '{pretrained}': {first_line(err)}") from err
        seconds = time.perf_counter() - start
        if request.dtype != "float32":  # lm-eval's log_softmax in float32 (its default: the logits' dtype)
            kwargs.setdefault("softmax_dtype", "float32")
        if loaded is None:  # full precision: HFLM loads the checkpoint itself, exactly as --model hf
            super().__init__(pretrained=path, dtype=request.dtype, **kwargs)
        else:
            kwargs.setdefault("tokenizer", path)
            super().__init__(pretrained=loaded.model, **{**kwargs, "device": device})
        self.pretrained = path  # HFLM keeps the instance for quantized models; record the source
        processes: list[dict[str, object]] = []
        if acc is not None:  # HFLM shards by rank only with several CUDA devices; here on any device
            self.accelerator, self._rank, self._world_size = acc, acc.process_index, acc.num_processes
            processes = distributed.all_gather({"rank": self.rank, "device": device, "quantized": built,
                                                "seconds": round(seconds, 3)})
        self.qx = QxRunInfo(
            model=pretrained, path=path, quant=request.backend, dtype=request.dtype,
            bits=loaded.bits if loaded and loaded.bits else request.bits,
            group_size=loaded.group_size if loaded and loaded.group_size else request.group_size,
            calibration=cal.key() if quantizer.requires_calibration else None, quantize_seconds=round(seconds, 3),
            cache_path=loaded.cache_path if loaded else None, cache_hit=loaded.cache_hit if loaded else None,
            summary=summarize(self.model), reference=self._reference_name, provenance=provenance(path),
            processes=processes or None, quantized_sha256=loaded.weights_sha256 if loaded else None,
        )
        if loaded is not None and self.qx.summary.quantized_linear_layers == 0:
            # Never evaluate full precision under a quantized name.
            raise QxError(f"quant={request.backend} was requested but the loaded model has no quantized linear layer")

    def is_own_reference(self) -> bool:
        """Full precision with ``reference=auto``: this model is its own reference and judge."""
        return self._reference_name == "auto" and self.qx.quant == "none"

    def reference_lm(self) -> QXLM | None:
        """The full-precision reference model (see the module docstring), loaded on first use."""
        if self._reference_name == "none":
            return None
        if self.is_own_reference():
            return self
        if self._reference is None:
            source = self.qx.path if self._reference_name == "auto" else self._reference_name
            self._reference = QXLM(pretrained=source, quant="none", reference="none", device=str(self.device),
                                   batch_size=self.batch_size, dtype=self.qx.dtype,
                                   _distributed=False)  # loaded by every rank, in the model's dtype
        return self._reference

    def _get_config(self, pretrained: str, **kwargs: Any) -> None:
        try:
            super()._get_config(pretrained, **kwargs)
        except OSError as err:
            raise QxError(f"Could not load model '{pretrained}': {first_line(err)}") from err

    def _create_model(self, pretrained: str, *args: Any, **kwargs: Any) -> None:
        try:
            with loading(pretrained):
                super()._create_model(pretrained, *args, **kwargs)
        except QxError:
            raise
        except Exception as err:  # corrupt or truncated weights surface as OSError, SafetensorError, ...
            raise QxError(f"Could not load model '{pretrained}': {first_line(err)}") from err

    @classmethod
    def create_from_arg_obj(cls, arg_dict: dict[str, Any], additional_config: dict[str, Any] | None = None) -> QXLM:
        """lm-eval names a run (its output folder, ``model_name``) after ``pretrained`` in the model args it
        was given; the default model is written there so that a run without it is named ``qx-tiny``."""
        arg_dict.setdefault("pretrained", DEFAULT_MODEL)
        return super().create_from_arg_obj(arg_dict, additional_config)

    def set_cache_hook(self, cache_hook: Any) -> None:
        """``--use_cache``: lm-eval's store is made to hold JSON, never pickles (:func:`resume.json_only`)."""
        if getattr(cache_hook, "dbdict", None) is not None:
            resume.json_only(cache_hook.dbdict)
        super().set_cache_hook(cache_hook)

    def _loglikelihood_tokens(self, requests: Any, disable_tqdm: bool = False, override_bs: Any = None) -> Any:
        """Inside a probe phase lm-eval's own bar is off; its answered requests advance the phase's bar."""
        current = progress.active()
        if current is None:
            return super()._loglikelihood_tokens(requests, disable_tqdm=disable_tqdm, override_bs=override_bs)
        hook = self.cache_hook
        self.cache_hook = progress.CountingHook(hook, current)
        try:
            return super()._loglikelihood_tokens(requests, disable_tqdm=True, override_bs=override_bs)
        finally:
            self.cache_hook = hook

    def cache_identity(self) -> dict[str, Any]:
        """What a probe result depends on besides its request (``--use_cache`` keys, :mod:`qxbench.lmeval.resume`):
        the checkpoint's content, the quantization config and the reference model."""
        from qxbench import __version__
        from qxbench.quant.cache import model_fingerprint

        info = self.qx
        return {"qxbench": __version__, "model": info.path, "fingerprint": model_fingerprint(info.path),
                "quant": info.quant, "dtype": info.dtype, "bits": info.bits, "group_size": info.group_size,
                "calibration": info.calibration, "reference": info.reference}

    def get_model_info(self) -> dict:
        """``config.qx``: :class:`QxRunInfo`, plus ``probe_seconds``: the seconds each probe request type
        took in this run, keyed by its tasks' names (the reference model's work included), and
        ``phase_seconds``: each phase's, both from this model's clocks (:meth:`take_seconds`). lm-eval asks
        once, when a run's results are made; the count then starts again for the next run. ``onednn_cache``:
        the oneDNN primitive cache capacity in the environment (:func:`cap_onednn_cache`), which bounds
        bitsandbytes' CPU int8 memory."""
        runtime = {"onednn_cache": os.environ.get(ONEDNN_CACHE)}
        return super().get_model_info() | {"qx": self.qx.as_dict() | self.take_seconds() | runtime}
