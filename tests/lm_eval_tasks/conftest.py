"""One qx model for the task tests, and a runner that evaluates tasks in-process."""

from __future__ import annotations

import textwrap
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


def stand_in_task(directory: Path, name: str, base: str, data_format: str, data_file: Path, split: str) -> Path:
    """A task that includes a shipped real-data variant but reads a local file of the same schema."""
    path = directory / f"{name}.yaml"
    path.write_text(textwrap.dedent(f"""\
        include: {TASKS / base}
        task: {name}
        dataset_path: {data_format}
        dataset_kwargs:
          data_files:
            {split}: {data_file}
        """))
    return path
