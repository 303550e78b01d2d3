"""The built site: byte-for-byte golden files, escaping, and the CLI around it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qxbench.cli import main

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
