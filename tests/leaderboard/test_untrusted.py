"""Issue 39, "Nothing read from disk is trusted": every hostile results file or samples line is one line
naming the file and the key (exit 2) or a note, never a traceback; documents pair by content."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from leaderboard.compare.pairing import build_cells
from leaderboard.display import load_display
from leaderboard.read.results import read_run
from leaderboard.read.runs import read_runs
from qxbench.cli import main
from qxbench.errors import QxError

from .conftest import FP, NF4, write_run

Q = "2026-11-23T11-00-00.000000"


def pair(tmp_path: Path, **kw) -> tuple[Path, Path]:
    """A full-precision run and an NF4 run of it (``kw`` for the NF4 one)."""
    fp = write_run(tmp_path / "fp", per_doc=FP)
    return fp, write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc=NF4, stamp=Q, **kw)


def edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def edit_samples(path: Path, task: str, change) -> Path:
    samples = next(path.parent.glob(f"samples_{task}_*.jsonl"))
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    for row in rows:
        change(row)
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return samples


def build(results: Path, out: Path, *flags: str) -> int:
    return main(["leaderboard", "build", str(results), "-o", str(out), "--bootstrap_iters", "200", *flags])


def gate(base: Path, cand: Path, *flags: str) -> int:
    return main(["gate", "--baseline", str(base), "--candidate", str(cand), "--max-drop", "flip_rate=1", *flags])


def qx(key, value):
    return lambda d: d["config"]["qx"].__setitem__(key, value)


BAD_KEYS = [  # (change, the key named, what is said of it)
    (qx("bits", [4]), "config.qx.bits", "is [4], not an integer"),
    (qx("bits", 10**400), "config.qx.bits", "less than or equal to 64"),
    (qx("provenance", "abc"), "config.qx.provenance", 'is "abc", not an object'),
    (qx("dtype", "float8"), "config.qx.dtype", "'float32', 'float16' or 'bfloat16'"),
    (qx("schema", "qxbench-config/9"), "config.qx.schema", "'qxbench-config/1'"),
    (qx("quantized_sha256", "abc"), "config.qx.quantized_sha256", "[0-9a-f]{64}"),
    (lambda d: d["config"]["qx"].pop("model"), "config.qx.model", "is missing"),
    (lambda d: d["config"]["qx"].pop("quant"), "config.qx.quant", "is missing"),
    (lambda d: d.__setitem__("n-samples", [1, 2]), "n-samples", "is [1, 2], not an object"),
    (lambda d: d.__setitem__("higher_is_better", {"nle_sim": "yes"}), "higher_is_better.nle_sim",
     'is "yes", not an object'),
    (lambda d: d.__setitem__("versions", [1]), "versions", "is [1], not an object"),
]


@pytest.mark.parametrize(("change", "key", "said"), BAD_KEYS, ids=[k + ":" + s[:12] for _, k, s in BAD_KEYS])
def test_a_bad_key_is_one_line_naming_the_file_and_the_key(tmp_path, capsys, change, key, said):
    fp, q = pair(tmp_path)
    edit(q, change)
    with pytest.raises(QxError) as err:
        read_run(q)
    assert str(err.value).startswith(f"{q}: {key} ")
    assert said in str(err.value)
    assert "\n" not in str(err.value)
    assert build(tmp_path, tmp_path / "site") == 2
    assert gate(fp, q) == 2
    for line in capsys.readouterr().err.strip().splitlines():
        assert line.startswith("qxbench: error:")
        assert f"{q}: {key} " in line


def test_skip_invalid_builds_the_rest_with_a_note_per_skipped_file(tmp_path, capsys):
    _, q = pair(tmp_path)
    edit(q, qx("bits", [4]))
    assert build(tmp_path, tmp_path / "site") == 2
    assert build(tmp_path, tmp_path / "site", "--skip-invalid") == 0
    err = capsys.readouterr().err
    assert f"note: skipped (--skip-invalid): {q}: config.qx.bits is [4], not an integer" in err
    assert "skipped (--skip-invalid)" in (tmp_path / "site" / "index.html").read_text()


@pytest.mark.parametrize("key", ["date", "total_evaluation_time_seconds"])
def test_a_date_or_duration_that_is_not_one_is_a_note(tmp_path, capsys, key):
    _, q = pair(tmp_path)
    edit(q, lambda d: d.__setitem__(key, 1e300))
    run = read_run(q)
    assert any(p.startswith(f"{q.name}: {key} is 1e+300, not a") for p in run.problems)
    assert build(tmp_path, tmp_path / "site") == 0


def test_a_date_that_is_not_a_time_never_wins_the_merge(tmp_path):
    """Two files of one config hold the same task: "yesterday" once became 1970, now it counts as oldest."""
    newer = write_run(tmp_path / "a", per_doc=FP, start=10 * 3600)
    bad = write_run(tmp_path / "b", per_doc=NF4, stamp=Q, start=11 * 3600)
    edit(bad, lambda d: d.__setitem__("date", "yesterday"))
    edit(newer, lambda d: d.__setitem__("date", 0.0))  # 1970-01-01, a time: later than a date that is none
    runs, notes = read_runs(tmp_path)
    assert runs[0].tasks["cf_flip"].metrics["flip_rate"] == 0.75  # FP's, not the undated NF4 file's
    assert f'{bad.name}: date is "yesterday", not a time: left out (the run counts as the oldest)' in notes
    assert any("not from the older" in n and "at an unknown time" in n for n in notes)


def test_a_doc_id_beyond_any_integer_is_one_line(tmp_path, capsys):
    _, q = pair(tmp_path)
    samples = next(q.parent.glob("samples_cf_flip_*.jsonl"))
    lines = samples.read_text().splitlines()
    samples.write_text("\n".join([lines[0].replace('"doc_id": 0', '"doc_id": 1e400'), *lines[1:]]) + "\n")
    assert build(tmp_path, tmp_path / "site") == 2
    err = capsys.readouterr().err.strip()
    assert err == f"qxbench: error: {samples}:1: broken sample line: doc_id is inf, not a document number"


def test_a_task_name_too_long_for_a_file_name_is_left_out_with_a_note(tmp_path, capsys):
    long = "t" * 300
    write_run(tmp_path / "fp", per_doc={"cf_flip": FP["cf_flip"], long: FP["multihop"]}, samples=False)
    assert build(tmp_path, tmp_path / "site") == 0
    assert "is longer than 200 bytes" in capsys.readouterr().err
    assert not list((tmp_path / "site").glob("probe_tt*"))


def test_per_document_values_near_the_largest_float_are_left_out_with_a_note(tmp_path, capsys):
    """±1.7e308 once overflowed math.fsum ("intermediate overflow in fsum") in the means and the bootstrap."""
    write_run(tmp_path / "fp", per_doc=FP)
    q = write_run(tmp_path / "q", quant="bnb-nf4", bits=4, per_doc={"cf_flip": NF4["cf_flip"]}, stamp=Q)
    huge = {0: 1.7e308, 1: 1.7e308, 2: -1.7e308}
    edit_samples(q, "cf_flip", lambda r: r.__setitem__("minimality", huge.get(r["doc_id"], 0.2)))
    assert build(tmp_path, tmp_path / "site") == 0
    assert "cf_flip/minimality: 3 per-document values beyond ±1e+100: treated as not finite" in capsys.readouterr().err


def test_changed_documents_are_refused_by_the_gate_and_not_compared_on_the_board(tmp_path, capsys):
    fp, q = pair(tmp_path)
    edit_samples(q, "cf_flip", lambda r: r.__setitem__("doc_hash", f"other-{r['doc_id']}"))
    assert gate(fp, q) == 2
    err = capsys.readouterr().err
    assert "cf_flip: the runs evaluated different documents: 4 of 4 doc_hash differ" in err
    assert gate(fp, q, "--allow-mismatch") == 1  # compared anyway: no document pairs, so it cannot pass
    cells, notes = build_cells(read_runs(tmp_path)[0], load_display(), iters=100)
    flips = [c for c in cells if c.config != "fp" and c.task == "cf_flip"]
    assert flips
    assert all(c.not_comparable and c.diff is None and not c.significant for c in flips)
    assert any("4 of 4 doc_hash differ" in n for n in notes)
    assert build(tmp_path, tmp_path / "site") == 0
    assert "≠" in (tmp_path / "site" / "probe_cf_flip.html").read_text()


def test_changed_task_hashes_are_refused(tmp_path, capsys):
    fp, q = pair(tmp_path)
    edit(q, lambda d: d["task_hashes"].__setitem__("cf_flip", "changed"))
    assert gate(fp, q) == 2
    assert ("cf_flip: the runs evaluated different documents: task_hashes differ" in (
        capsys.readouterr().err))


def test_runs_without_doc_hash_still_pair_by_doc_id(tmp_path, capsys):
    fp, q = pair(tmp_path, hashes=False)
    assert gate(fp, q) == 0


def test_a_mean_over_few_documents_says_so(tmp_path):
    values = [math.nan] * 45 + [1.0, 0.0, 1.0, 1.0, 1.0]
    write_run(tmp_path, per_doc={"cf_flip": {"flip_rate": values}})
    cells, _ = build_cells(read_runs(tmp_path)[0], load_display(), iters=100)
    assert "the mean is over 5 of 50 documents" in cells[0].note


def test_an_aggregate_unlike_its_samples_is_a_note_on_the_page_and_in_the_gate(tmp_path, capsys):
    fp, q = pair(tmp_path)
    edit(q, lambda d: d["results"]["cf_flip"].__setitem__("flip_rate,none", 1e308))
    said = f"{q.name}: cf_flip/flip_rate is 1e+308 in the results, but the mean of its 4 samples is 0.25"
    assert gate(fp, q) == 0
    assert said in capsys.readouterr().out
    assert build(tmp_path, tmp_path / "site") == 0
    assert said in (tmp_path / "site" / "index.html").read_text()


def test_a_count_whose_aggregate_is_the_sum_of_its_samples_is_no_note(tmp_path, capsys):
    """nle_sim's insertions_n and cf_flip's n_valid_flips aggregate by sum (utils.total), not by mean."""
    fp, q = pair(tmp_path)
    edit(q, lambda d: d["results"]["cf_flip"].__setitem__("flip_rate,none", 1.0))  # the sum of 1, 0, 0, 0
    assert gate(fp, q) == 0
    assert "in the results, but the mean" not in capsys.readouterr().out


def test_notes_are_folded_after_the_table_and_model_names_do_not_wrap(tmp_path):
    fp, q = pair(tmp_path)
    edit(q, lambda d: d["results"]["cf_flip"].__setitem__("flip_rate,none", float("nan")))
    assert build(tmp_path, tmp_path / "site") == 0
    html = (tmp_path / "site" / "index.html").read_text()
    assert html.index("</table>") < html.index('<details class="notes"><summary>') < html.index("</main>")
    css = (tmp_path / "site" / "style.css").read_text()
    assert "table.summary td.model { white-space: nowrap;" in css
    assert "overflow-wrap: anywhere; max-width" not in css
