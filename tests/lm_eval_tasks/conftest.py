"""One qx model for the task tests, and a runner that evaluates tasks in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

TASKS = Path(__file__).resolve().parents[2] / "lm_eval_tasks"


@pytest.fixture(scope="session")
def qx_lm():
    from qxbench.adapter import QXLM

    return QXLM(device="cpu", batch_size=32)


def evaluate(lm, tasks: list[str], limit: int | None = None, include: Path | None = None,
             metadata: dict | None = None, **kwargs) -> dict:
    """``simple_evaluate`` with our tasks (plus ``include``); ``metadata`` as lm_eval's --metadata."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    paths = [str(TASKS)] + ([str(include)] if include else [])
    manager = TaskManager(include_path=paths, include_defaults=False, metadata=metadata)
    return simple_evaluate(model=lm, tasks=tasks, limit=limit, task_manager=manager, **kwargs)
