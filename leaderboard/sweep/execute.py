"""``qxbench sweep``: plan the configs (:mod:`leaderboard.sweep.plan`), then run them with the executor
``--executor`` names: ``local`` one after another in this process (default, :func:`run_local`), ``ray`` each as a
Ray task (:mod:`leaderboard.sweep.ray_executor`).
"""

from __future__ import annotations

import argparse

from leaderboard.sweep import ray_executor
from leaderboard.sweep.job import Job
from leaderboard.sweep.plan import plan
from qxbench.errors import QxError


def run_local(jobs: list[Job]) -> int:
    """One config after another in this process; the first failure ends the sweep (its one line)."""
    from qxbench.lmeval.eval_cli import cmd_eval  # never qxbench.cli: it imports the leaderboard's commands

    for job in jobs:
        print(f"== {job.label}: qxbench eval {' '.join(job.argv)}", flush=True)
        cmd_eval(job.argv)
        job.finish()
    return 0


def run(args: argparse.Namespace) -> int:
    """0: every config done; 1: some failed (reported, the others ran); bad input raises QxError."""
    if args.executor == "ray":
        resources = ray_executor.Resources.from_args(args)
        return ray_executor.run(plan(args), args.address, resources)
    for flag in ("address", "ray_gpus", "ray_memory_gb"):
        if getattr(args, flag, None) is not None:
            raise QxError(f"--{flag} is for --executor ray (got --executor {args.executor})")
    return run_local(plan(args))
