"""The plan of ``qxbench sweep``: its configs (``--quants``), each a :class:`~leaderboard.sweep.job.Job` running
``qxbench eval`` into ``OUTPUT_PATH/<config>/``, where ``leaderboard build`` reads them. A config whose results
exist from the same arguments (``qx_sweep.json``, written when its run ends) is left out; ``--force`` redoes it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from leaderboard.sweep.job import MANIFEST, Job, recorded
from qxbench.errors import QxError


def parse_configs(text: str) -> list[dict[str, str]]:
    """``none,bnb-nf4,gptq:bits=4:group_size=128`` -> model-arg dicts; ``none`` is put first."""
    from qxbench.quant import QuantRequest, get_quantizer

    configs = []
    for item in [c.strip() for c in text.split(",") if c.strip()]:
        backend, *pairs = item.split(":")
        args = {"quant": backend}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or key not in ("bits", "group_size"):
                raise QxError(f"--quants entry '{item}': options are bits=N and group_size=N, got '{pair}'")
            args[key] = value
        bits, group = args.get("bits"), args.get("group_size")
        try:
            request = QuantRequest(backend, int(bits) if bits else None, int(group) if group else None)
        except ValueError:
            raise QxError(f"--quants entry '{item}': bits and group_size must be whole numbers") from None
        get_quantizer(request)  # unknown backend / unsupported bits -> one line, before anything runs
        twin = next((c for c in configs if folder_name(c) == folder_name(args)), None)
        if twin is not None:
            raise QxError(f"--quants entry '{item}' is the config {folder_name(args)} again: each config once")
        configs.append(args)
    if not any(c["quant"] == "none" for c in configs):
        print("note: adding quant=none: the leaderboard compares every config with full precision", file=sys.stderr)
        configs.insert(0, {"quant": "none"})
    return sorted(configs, key=lambda c: c["quant"] != "none")


def folder_name(config: dict[str, str]) -> str:
    """A config's folder, named as the leaderboard names its column (:attr:`leaderboard.read.results.Run.config`):
    ``fp``, ``rtn-8b``, ``rtn-g8``, ``gptq-4b-g128``; every option given is in the name."""
    if config["quant"] == "none":
        return "fp"
    return "-".join([config["quant"], *([f"{int(config['bits'])}b"] if config.get("bits") else []),
                     *([f"g{int(config['group_size'])}"] if config.get("group_size") else [])])


def parse_metadata(text: str | None) -> dict[str, object]:
    """``--metadata``: a JSON object handed to every config's run (an object under a task's name
    applies to that task only, see :mod:`qxbench.probes.options`)."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as err:
        raise QxError(f"--metadata '{text}' is not JSON ({err})") from None
    if not isinstance(value, dict):
        raise QxError(f"--metadata '{text}' must be a JSON object, like '{{\"data_path\": \"/data\"}}'")
    return value


def _done(out: Path, manifest: dict[str, object]) -> bool:
    """Whether an earlier run of exactly these arguments ended in ``out`` (one of the manifest's records,
    :func:`leaderboard.sweep.job.recorded`) and left results there; else run it."""
    return manifest in recorded(out) and any(out.rglob("results_*.json"))


def _docs(args: argparse.Namespace) -> list[str]:
    """``--docs START:END`` as lm-eval's ``--samples`` (each task's document indices); [] without it. Every name in
    ``--tasks`` must be a task: lm-eval runs a task missing from ``--samples`` on all its documents."""
    text = getattr(args, "docs", None)
    if text is None:
        return []
    from qxbench import preflight
    from qxbench._lmeval_hook import qx_task_index

    samples = preflight.docs_samples(text, [t for t in args.tasks.split(",") if t])
    if args.limit is not None:
        raise QxError(f"--docs {text} and --limit {args.limit}: give one (--docs START:END runs the documents "
                      "a --limit START run left out)")
    index = qx_task_index()
    for task in json.loads(samples):
        if not index.get(task, "").endswith("task"):  # task, py_task; not a tag or group
            raise QxError(f"--docs selects documents per task, and --tasks '{task}' is "
                          f"{'a ' + index[task] if task in index else 'not a qxbench task'}: name its tasks "
                          "(`qxbench tasks` lists them)")
    return ["--samples", samples]


def plan(args: argparse.Namespace) -> list[Job]:
    """The configs still to run (those done with the same arguments are announced and left out)."""
    from qxbench import __version__, preflight

    metadata = parse_metadata(getattr(args, "metadata", None))
    if args.limit is not None:
        preflight.check_limit(str(args.limit))
    docs = _docs(args)
    preflight.check_batch_size(str(args.batch_size))
    preflight.check_output_dir(args.output_path, "--output_path")
    jobs = []
    for config in parse_configs(args.quants):
        label = folder_name(config)
        out = preflight.check_output_dir(args.output_path / label, f"--output_path's folder for {label}")
        model_args = ",".join([f"pretrained={args.model}", *(f"{k}={v}" for k, v in config.items()),
                               *([args.model_args] if args.model_args else [])])
        argv = ["--model", "qx", "--model_args", model_args, "--tasks", args.tasks, "--device", args.device,
                "--batch_size", str(args.batch_size), "--output_path", str(out),
                "--log_samples", *(["--limit", str(args.limit)] if args.limit else []), *docs,
                *(["--metadata", json.dumps(metadata)] if metadata else [])]
        manifest = {"qxbench": __version__, "argv": argv, "model_args": model_args, "tasks": args.tasks,
                    "limit": args.limit, "metadata": metadata,
                    **({"docs": args.docs} if getattr(args, "docs", None) else {})}
        if not args.force and _done(out, manifest):
            where = (out / MANIFEST).relative_to(args.output_path)
            print(f"skip {label}: results exist for --tasks {args.tasks} ({where}); --force to redo", flush=True)
            continue
        jobs.append(Job(label, out, argv, manifest))
    return jobs
