"""One qx model for the task tests, and a runner that evaluates tasks in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

TASKS = Path(__file__).resolve().parents[2] / "lm_eval_tasks"


@pytest.fixture(scope="session")
def qx_lm():
    from qxbench.lmeval.adapter import QXLM

    return QXLM(device="cpu", batch_size=32)


def evaluate(lm, tasks: list[str], limit: int | None = None, include: Path | None = None,
             metadata: dict | None = None, **kwargs) -> dict:
    """``simple_evaluate`` with our tasks (plus ``include``); ``metadata`` as lm_eval's --metadata."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    paths = [str(TASKS)] + ([str(include)] if include else [])
    manager = TaskManager(include_path=paths, include_defaults=False, metadata=metadata)
    return simple_evaluate(model=lm, tasks=tasks, limit=limit, task_manager=manager, **kwargs)


@pytest.fixture(scope="module")
def chains(tmp_path_factory) -> str:
    """Two-hop chains composed from ../shared's LRE relations, two per relation pair."""
    from qxbench.cli import main
    from tests.conftest import shared_path

    out = tmp_path_factory.mktemp("twohop") / "chains.csv"
    lre = str(shared_path("data", "lre"))
    assert main(["data", "twohop", "--lre", lre, "-o", str(out), "--max-per-pair", "2"]) == 0
    return str(out)


def values(out: dict, task: str) -> dict[str, float]:
    """The float metrics of ``task`` in a results dict, by metric name (the filter dropped)."""
    return {k.split(",")[0]: v for k, v in out["results"][task].items() if isinstance(v, float) and "stderr" not in k}


def metric_list(yaml_file: Path) -> dict[str, dict]:
    """A task YAML's ``metric_list`` by metric name; ``!function utils.x`` aggregations read as ``"utils.x"``."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))
    return {m["metric"]: m for m in yaml.load(yaml_file.read_text(), Loader=Loader)["metric_list"]}


def check_display(task: str, metrics: dict[str, dict]) -> None:
    """Every metric of a task is declared in leaderboard/display.yaml, in the task's direction or informational."""
    from leaderboard.display import load_display

    display = load_display()
    for name, entry in metrics.items():
        assert name in display.metrics[task], f"{task}/{name} is missing in leaderboard/display.yaml"
        assert display.higher_is_better(task, name, entry["higher_is_better"]) in (entry["higher_is_better"], None)
