"""benchmarks/studies/soup_rule.py: the readers' soup rule (qxbench.probes.soup, tested in tests/probes/test_soup.py)
counted over the committed explanation runs, kind by kind."""

from __future__ import annotations

import json

import pytest

from benchmarks.studies.soup_rule import main


def test_the_count_flags_the_floor_and_no_valid_answer_of_a_real_model(tmp_path):
    out = tmp_path / "soup.json"
    main(["--out", str(out)])
    counts = json.loads(out.read_text())["counts"]
    models, floor = counts["models"], counts["floor"]
    # a real model's answer the rule flags is a loop (read first); no valid, copied or restating one is flagged
    assert all(cell["soup"] == 0 for key, cell in models.items() if not key.endswith(("3.x", "loop"))), models
    assert sum(cell["soup"] for cell in models.values()) <= 5, models
    assert sum(cell["answers"] for cell in models.values()) > 6000
    flagged = sum(cell["soup"] for cell in floor.values())
    assert flagged > 0.9 * sum(cell["answers"] for cell in floor.values()), floor


def test_runs_that_are_not_a_folder_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--runs", str(tmp_path / "absent"), "--out", str(tmp_path / "out.json")])
    assert stop.value.code == 2
    assert "is not a folder" in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()
