"""Every metric of every task YAML has the task YAML's direction in leaderboard/display.yaml (lm-eval needs
``higher_is_better`` in the task; the leaderboard, the gate and the run report read display.yaml's)."""

from __future__ import annotations

import re
from pathlib import Path

from leaderboard.display import Display, load_display
from qxbench.errors import QxError

from .conftest import TASKS, metric_list


def task_metrics(tasks: Path = TASKS) -> list[tuple[str, str, str, bool]]:
    """(file, task, metric, higher_is_better) of each ``metric_list`` entry of the task YAMLs; the task is the
    file's ``task:``, else its folder's (an included ``_cf_flip.yaml`` -> ``cf_flip``)."""
    found = []
    for path in sorted(tasks.glob("*/*.yaml")):
        text = path.read_text()
        if "metric_list:" not in text:
            continue
        named = re.search(r"^task: *(\S+)", text, re.MULTILINE)
        task = named.group(1) if named else path.parent.name
        for name, entry in metric_list(path).items():
            found.append((str(path.relative_to(tasks)), task, name, entry["higher_is_better"]))
    return found


def disagreements(display: Display, metrics: list[tuple[str, str, str, bool]]) -> list[str]:
    """One line per task metric whose display.yaml direction is missing or not the task YAML's
    (``informational`` metrics excepted: no better direction)."""
    wrong = []
    for file, task, metric, task_hib in metrics:
        try:
            declared = display.higher_is_better(task, metric, None)
        except QxError as err:
            wrong.append(f"{file}: {err}")
            continue
        if declared is not None and declared != bool(task_hib):
            wrong.append(f"{file}: {task}/{metric} has higher_is_better: {task_hib} in the task YAML but "
                         f"{declared} in display.yaml")
    return wrong


def test_every_task_metric_has_the_task_yaml_s_direction_in_display_yaml():
    metrics = task_metrics()
    assert {task for _, task, _, _ in metrics} >= {"cf_flip", "nle_sim", "memorize", "multihop", "calib", "neurons",
                                                     "world", "world_sentiment"}
    wrong = disagreements(load_display(), metrics)
    assert not wrong, "\n".join(wrong)


def test_a_disagreement_names_the_task_the_metric_and_both_values():
    display = Display(metrics={"calib": {"ace": {"higher_is_better": True}, "confidence": {"informational": True}}})
    metrics = [("calib/_calib.yaml", "calib", "ace", False), ("calib/_calib.yaml", "calib", "confidence", True),
               ("calib/_calib.yaml", "calib_piqa", "brier", False)]
    assert disagreements(display, metrics) == [
        "calib/_calib.yaml: calib/ace has higher_is_better: False in the task YAML but True in display.yaml",
        "calib/_calib.yaml: No direction for calib_piqa/brier: add it to display.yaml"]
