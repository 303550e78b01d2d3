"""The headline lines a finished run prints (qxbench.run_report)."""

from __future__ import annotations

from qxbench.run_report import headline_lines


def test_cf_flip_shows_agree_fp_and_falls_back_to_the_flip_rate_without_a_reference():
    (line,) = headline_lines({"results": {"cf_flip": {"agree_fp,none": 0.875, "flip_rate,none": 0.25}}})
    assert line.split()[:3] == ["cf_flip", "agree_fp", "0.8750"] and "full-precision" in line
    (line,) = headline_lines({"results": {"cf_flip_sst2": {"flip_rate,none": 0.25}}})  # reference=none, or 3.x
    assert line.split()[:3] == ["cf_flip_sst2", "flip_rate", "0.2500"] and "own label" in line
    assert headline_lines({"results": {"cf_flip": {"acc,none": 1.0}}}) == []


def test_a_full_precision_run_reports_its_flip_rate_not_its_agreement_with_itself():
    """At full precision agree_fp is 1 by construction: the report shows the next headline."""
    values = {"cf_flip": {"agree_fp,none": 1.0, "flip_rate,none": 0.25}}
    (line,) = headline_lines({"results": values, "config": {"qx": {"quant": "none"}}})
    assert line.split()[:3] == ["cf_flip", "flip_rate", "0.2500"]
    (line,) = headline_lines({"results": values, "config": {"qx": {"quant": "bnb-nf4"}}})
    assert line.split()[:3] == ["cf_flip", "agree_fp", "1.0000"]


def test_the_headlines_their_order_and_directions_are_display_yaml_s():
    """The run report and the leaderboard's index show the same metric: display.yaml's `headline` list
    (the first one the run has), kept in qxbench.run_report because qxbench's library never imports the
    leaderboard; this pins the two together."""
    from leaderboard.display import load_display
    from qxbench.run_report import FALLBACKS, HEADLINES

    display = load_display()
    assert display.headlines("cf_flip") == ("agree_fp", "flip_rate")
    for family in display.probes:  # every probe of the leaderboard has its run-report line, in the same order
        entries = (HEADLINES[family], *FALLBACKS.get(family, ()))
        assert tuple(m for m, _, _ in entries) == display.headlines(family), family
        for metric, direction, _ in entries:
            hib = display.higher_is_better(family, metric, None)
            assert direction == ("higher is better" if hib else "lower is better"), (family, metric)
        for i, metric in enumerate(display.headlines(family)):  # each fallback shown once those before it are missing
            values = {f"{m},none": 0.5 for m in display.headlines(family)[i:]}
            (line,) = headline_lines({"results": {f"{family}_x": values}})
            assert line.split()[1] == metric == display.headline(family, {k.split(",")[0] for k in values})
