"""The built site: byte-for-byte golden files, escaping, and the CLI around it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from leaderboard.compare import build_cells
from leaderboard.display import load_display
from leaderboard.plots import line_chart
from leaderboard.runs import read_runs
from leaderboard.site import _bits_series, view
from qxbench.cli import main

from .conftest import FP, NF4, write_run

GOLDEN = Path(__file__).with_name("golden")


def build(results_dir: Path, out: Path) -> int:
    return main(["leaderboard", "build", str(results_dir), "-o", str(out), "--bootstrap_iters", "500"])


def test_site_matches_the_golden_files(results_dir, tmp_path):
    assert build(results_dir, tmp_path / "site") == 0
    built = sorted(p.name for p in (tmp_path / "site").iterdir())
    assert built == ["index.html", "leaderboard.csv", "leaderboard.json", "leaderboard.md", "probe_cf_flip.html",
                     "probe_multihop.html", "sort.js", "style.css"]
    if os.environ.get("QXBENCH_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        for name in built:
            (GOLDEN / name).write_bytes((tmp_path / "site" / name).read_bytes())
    for name in built:
        assert (tmp_path / "site" / name).read_bytes() == (GOLDEN / name).read_bytes(), f"{name} differs from golden"


def test_build_is_deterministic(results_dir, tmp_path):
    build(results_dir, tmp_path / "a")
    build(results_dir, tmp_path / "b")
    for path in (tmp_path / "a").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes()


def test_untrusted_names_are_escaped_everywhere(results_dir, tmp_path):
    build(results_dir, tmp_path / "site")
    for page in ("index.html", "probe_cf_flip.html", "probe_multihop.html"):
        html = (tmp_path / "site" / page).read_text()
        assert "<script>alert" not in html and "&lt;script&gt;alert(" in html
    assert "<script>" not in (tmp_path / "site" / "leaderboard.md").read_text()


def test_no_network_resources(results_dir, tmp_path):
    build(results_dir, tmp_path / "site")
    for page in (tmp_path / "site").glob("*.html"):
        html = page.read_text()
        assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html


def test_missing_baseline_is_said_and_the_row_kept(results_dir, tmp_path, capsys):
    build(results_dir, tmp_path / "site")
    err = capsys.readouterr().err
    assert "no full-precision run" in err
    assert "no full-precision run" in (tmp_path / "site" / "index.html").read_text()


def test_bad_results_dir_is_one_line(tmp_path, capsys):
    assert build(tmp_path / "nothing", tmp_path / "site") == 2
    assert capsys.readouterr().err.strip() == f"qxbench: error: No such results file or directory: {tmp_path}/nothing"


@pytest.mark.parametrize("missing", ["results"])
def test_site_dir_not_created_on_bad_input(tmp_path, missing):
    build(tmp_path / missing, tmp_path / "site")
    assert not (tmp_path / "site").exists()


def test_a_nan_value_is_shown_as_a_dash_never_beside_a_difference(tmp_path):
    write_run(tmp_path / "fp", per_doc=FP)
    nan = {**NF4, "cf_flip": {**NF4["cf_flip"], "flip_rate": [1.0, 1.0, 0.0, 1.0]}}  # the same per document as fp
    q = write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc=nan, stamp="2026-11-23T11-00-00.000000")
    q.write_text(q.read_text().replace('"flip_rate,none": 0.75', '"flip_rate,none": NaN'))
    cells, _ = build_cells(read_runs(tmp_path)[0], load_display(), iters=200)
    cell = next(c for c in cells if (c.config, c.metric) == ("bnb-nf4-4b", "flip_rate"))
    shown = view(cell, 1.0)
    assert (shown.text, shown.style, shown.mark) == ("–", "", "") and shown.title == "nan in the results: not compared"


def test_an_informational_metric_gets_no_direction_colour(tmp_path):
    for name in ("calib", "calib_piqa"):  # a variant takes its family's display entries
        write_run(tmp_path / name / "fp", per_doc={name: {"confidence": [0.9, 0.8, 0.9], "ace": [0.1, 0.2, 0.1]}})
        write_run(tmp_path / name / "q", quant="bnb-nf4", bits=4, stamp="2026-11-23T11-00-00.000000",
                  per_doc={name: {"confidence": [0.5, 0.4, 0.5], "ace": [0.3, 0.4, 0.3]}})
        cells, _ = build_cells(read_runs(tmp_path / name)[0], load_display(), iters=200)
        quant = {c.metric: c for c in cells if c.config == "bnb-nf4-4b"}
        assert quant["confidence"].diff == pytest.approx(-0.4) and quant["confidence"].degradation is None
        assert view(quant["confidence"], 1.0).style == ""
        assert view(quant["ace"], 1.0).style.startswith("background: rgba(214,39,40,")  # worse: red


def test_full_precision_is_labelled_fp_in_the_bits_charts(results_dir, tmp_path):
    runs, _ = read_runs(results_dir)
    series, fp_x = _bits_series(runs, "cf_flip", "flip_rate")
    assert fp_x == 16.0 and series["qx-tiny bnb"][0] == (16.0, 0.75)
    svg = line_chart("t", series, "bits", "y", {fp_x: "FP"})
    assert ">FP</text>" in svg and ">16</text>" not in svg and ">4</text>" in svg
    write_run(results_dir / "w", quant="hqq", bits=16, per_doc=NF4, stamp="2026-11-23T10-20-00.000000")
    assert _bits_series(read_runs(results_dir)[0], "cf_flip", "flip_rate")[1] == 32.0  # never on a real width
    build(results_dir, tmp_path / "site")
    page = (tmp_path / "site" / "probe_cf_flip.html").read_text()
    assert ">FP</text>" in page and "16 = full precision" not in page


def test_bad_samples_line_and_bad_task_name_through_the_cli(results_dir, tmp_path, capsys):
    fp = next((results_dir / "fp").glob("results_*.json"))
    data = fp.read_text().replace('"cf_flip"', '"cf/flip"')
    (results_dir / "fp" / "samples_cf_flip_2026-11-23T10-00-00.000000.jsonl").unlink()
    fp.write_text(data)
    assert build(results_dir, tmp_path / "site") == 0
    assert f"note: {fp.name}: task name 'cf/flip' contains a path separator: left out" in capsys.readouterr().err
    assert not list(tmp_path.rglob("probe_cf*flip.html"))[1:]  # only the NF4 runs' cf_flip page
    samples = results_dir / "fp" / "samples_multihop_2026-11-23T10-00-00.000000.jsonl"
    samples.write_text(samples.read_text() + "{not json\n")
    assert build(results_dir, tmp_path / "site2") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"qxbench: error: {samples}:5: broken sample line: ") and "\n" not in err
