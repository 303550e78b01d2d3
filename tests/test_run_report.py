"""The headline lines a finished run prints (qxbench.run_report)."""

from __future__ import annotations

import pytest

from qxbench.run_report import headline_lines


def test_cf_flip_shows_agree_fp_and_falls_back_to_the_flip_rate_without_a_reference():
    (line,) = headline_lines({"results": {"cf_flip": {"agree_fp,none": 0.875, "flip_rate,none": 0.25}}})
    assert line.split()[:3] == ["cf_flip", "agree_fp", "0.8750"]
    assert "full-precision" in line
    (line,) = headline_lines({"results": {"cf_flip_sst2": {"flip_rate,none": 0.25}}})  # reference=none, or 3.x
    assert line.split()[:3] == ["cf_flip_sst2", "flip_rate", "0.2500"]
    assert "own label" in line
    assert headline_lines({"results": {"cf_flip": {"acc,none": 1.0}}}) == []


def test_a_full_precision_run_reports_its_flip_rate_not_its_agreement_with_itself():
    """At full precision agree_fp is 1 by construction: the report shows the next headline."""
    values = {"cf_flip": {"agree_fp,none": 1.0, "flip_rate,none": 0.25}}
    (line,) = headline_lines({"results": values, "config": {"qx": {"quant": "none"}}})
    assert line.split()[:3] == ["cf_flip", "flip_rate", "0.2500"]
    (line,) = headline_lines({"results": values, "config": {"qx": {"quant": "bnb-nf4"}}})
    assert line.split()[:3] == ["cf_flip", "agree_fp", "1.0000"]


def test_the_report_prints_display_yaml_s_headlines_directions_and_abouts():
    """Every probe's headline list (leaderboard/display.yaml ``probes``), in its order: each one shown once
    those before it are missing, with its metric entry's direction and ``about``, read from the file itself."""
    import yaml

    from qxbench.metric_facts import DISPLAY_FILE

    data = yaml.safe_load(DISPLAY_FILE.read_text())
    probes = {p: e["headline"] for p, e in data["probes"].items() if "headline" in e}
    assert probes["cf_flip"] == ["agree_fp", "flip_rate"]
    assert probes["world"] == "acc"
    for family, headline in probes.items():
        names = [headline] if isinstance(headline, str) else headline
        for i, metric in enumerate(names):
            entry = data["metrics"][family][metric]
            direction = "higher is better" if entry["higher_is_better"] else "lower is better"
            (line,) = headline_lines({"results": {f"{family}_x": {f"{m},none": 0.5 for m in names[i:]}}})
            assert line == f"  {family + '_x':22s} {metric:12s} {'0.5000':>8s}  ({direction}) {entry['about']}"


def test_the_leaderboard_reads_the_same_headlines():
    """The index (leaderboard.display) and the run report (qxbench.metric_facts) read one list."""
    from leaderboard.display import load_display
    from qxbench.metric_facts import headlines, read

    display = load_display()
    for family in read()["probes"]:
        assert tuple(h.metric for h in headlines(family)) == display.headlines(family), family
        for h in headlines(family):
            assert (h.higher_is_better, h.about) == (display.higher_is_better(family, h.metric, None),
                                                     display.about(family, h.metric))


def test_a_headline_without_about_or_direction_fails_with_its_task_and_metric(monkeypatch, tmp_path):
    """The meaning and direction printed come from display.yaml only: a headline metric without them is an
    error when the file is read and when the report asks for it, never a line without its meaning."""
    from leaderboard.display import load_display
    from qxbench import metric_facts
    from qxbench.errors import QxError

    bad = tmp_path / "display.yaml"
    text = metric_facts.DISPLAY_FILE.read_text()
    about = ' about: "adaptive calibration error of one-token answers\' confidence"'
    assert about in text
    bad.write_text(text.replace("," + about, ""))
    with pytest.raises(QxError, match=r"No about for calib/ace in display\.yaml"):
        load_display(bad)
    lacking = {"probes": {"calib": {"headline": "ace"}}, "metrics": {"calib": {"ace": {"higher_is_better": False}}}}
    monkeypatch.setattr(metric_facts, "read", lambda: lacking)
    with pytest.raises(QxError, match=r"No about for calib_piqa/ace"):
        headline_lines({"results": {"calib_piqa": {"ace,none": 0.1}}})
    lacking["metrics"]["calib"]["ace"] = {"informational": True, "about": "x"}
    with pytest.raises(QxError, match=r"The headline calib_piqa/ace in display\.yaml needs a direction"):
        headline_lines({"results": {"calib_piqa": {"ace,none": 0.1}}})


def test_the_report_finds_the_results_beside_an_output_path_ending_in_json(tmp_path, capsys):
    """lm-eval writes ``--output_path runs/x.json``'s results as ``runs/x_<stamp>.json`` and its samples beside
    it: the report names them (it said no results file was written)."""
    import json
    import time

    from qxbench.run_report import report

    since = time.time() - 1
    (tmp_path / "x_2026-12-06T07-00-00.json").write_text(json.dumps({"results": {"cf_flip": {"flip_rate,none": 0.25}}}))
    (tmp_path / "samples_cf_flip_2026-12-06T07-00-00.jsonl").write_text("{}\n")
    report(["--output_path", str(tmp_path / "x.json")], since)
    err = capsys.readouterr().err
    assert f"results -> {tmp_path / 'x_2026-12-06T07-00-00.json'}" in err, err
    assert "samples -> " in err and "(1 file)" in err, err
    assert "cf_flip" in err and "flip_rate" in err, "the headline was not read from the found file"
    (tmp_path / "sub" / "model").mkdir(parents=True)
    (tmp_path / "sub" / "model" / "results_2026-12-06T07-00-01.json").write_text(json.dumps({"results": {}}))
    report(["--output_path", str(tmp_path / "sub")], since)
    assert "results -> " in capsys.readouterr().err, "a folder's results_*.json is no longer found"
