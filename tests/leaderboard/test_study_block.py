"""The "human ratings" block on probe pages, from `qxbench study collect` results beside the runs."""

from __future__ import annotations

import json

import pytest

from qxbench.cli import main

RATINGS = {
    "schema": "qxbench-human-ratings/1", "study_id": "abc123def456", "items": 4, "scale": [1, 5],
    "raters": [{"rater": "sim1", "ratings": 36, "expected": 36, "simulated": True},
               {"rater": "sim2", "ratings": 20, "expected": 36, "simulated": True}],
    "criteria": {"fluency": "Fluency", "minimality": "Minimality"},
    "alpha": {"cf_flip": {"fluency": 0.4321, "minimality": None}},
    "rows": [
        {"task": "cf_flip", "model": "qx-tiny", "criterion": "fluency", "config": "fp", "mean": 4.25, "items": 4,
         "diff": None, "low": None, "high": None, "pairs": 0},
        {"task": "cf_flip", "model": "<script>alert('h')</script>", "criterion": "fluency", "config": "bnb-nf4-4b",
         "mean": 3.0, "items": 4, "diff": -1.25, "low": -2.0, "high": -0.5, "pairs": 4},
        {"task": "cf_flip", "model": "qx-tiny", "criterion": "fluency", "config": "fp-bfloat16", "mean": 4.0,
         "items": 3, "diff": None, "low": None, "high": None, "pairs": 0},
    ],
}


def build(results_dir, tmp_path, capsys) -> str:
    assert main(["leaderboard", "build", str(results_dir), "-o", str(tmp_path / "site"), "--bootstrap_iters", "9"]) == 0
    capsys.readouterr()
    return (tmp_path / "site" / "probe_cf_flip.html").read_text()


def test_the_block_shows_ratings_differences_and_agreement(results_dir, tmp_path, capsys):
    (results_dir / "qx_human_ratings_abc123def456.json").write_text(json.dumps(RATINGS))
    page = build(results_dir, tmp_path, capsys)
    assert "<h3>Human ratings</h3>" in page
    assert "abc123def456" in page
    assert "by 2 raters (1 partial); <strong>all of them simulated, not people</strong>" in page
    assert "Fluency 0.432, Minimality –" in page
    assert "<td>bnb-nf4-4b</td><td>Fluency</td><td>3.00</td><td>-1.25*</td><td>[-2.00, -0.500]</td><td>4</td>" in page
    assert "<td>FP</td><td>Fluency</td><td>4.25</td><td></td><td></td><td>4</td>" in page
    assert "<td>fp-bfloat16</td><td>Fluency</td><td>4.00</td><td></td><td></td><td>3</td>" in page  # a baseline
    assert "&lt;script&gt;alert(&#39;h&#39;)&lt;/script&gt;" in page
    assert "<script>alert('h')" not in page
    assert "Human ratings" not in (tmp_path / "site" / "probe_multihop.html").read_text()


def test_without_ratings_there_is_no_block(results_dir, tmp_path, capsys):
    assert "Human ratings" not in build(results_dir, tmp_path, capsys)


@pytest.mark.parametrize(("text", "message"), [
    ("{", "Expecting property name"),
    (json.dumps({**RATINGS, "schema": "x/9"}), "schema 'x/9', expected 'qxbench-human-ratings/1'"),
    (json.dumps({**RATINGS, "rows": [{"task": "cf_flip"}]}), "a row without model, criterion, config"),
])
def test_a_broken_ratings_file_is_one_line(results_dir, tmp_path, capsys, text, message):
    path = results_dir / "fp" / "qx_human_ratings_x.json"
    path.write_text(text)
    assert main(["leaderboard", "build", str(results_dir), "-o", str(tmp_path / "site")]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("note: ")]
    assert len(errors) == 1
    assert errors[0].startswith(f"qxbench: error: Cannot read human ratings {path}: ")
    assert message in errors[0]
