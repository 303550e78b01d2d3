"""The site in real headless Chromium (Debian's chromium, driven by Playwright); skipped without them."""

from __future__ import annotations

import shutil

import pytest

from qxbench.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt install chromium)")


@pytest.fixture()
def page(results_dir, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    main(["leaderboard", "build", str(results_dir), "-o", str(tmp_path / "site"), "--bootstrap_iters", "200"])
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        pg = browser.new_page()
        pg.problems = []
        pg.on("console", lambda m: pg.problems.append(m.text) if m.type in ("error", "warning") else None)
        pg.on("pageerror", lambda e: pg.problems.append(str(e)))
        pg.on("dialog", lambda d: (pg.problems.append(f"dialog: {d.message}"), d.dismiss()))
        pg.on("request", lambda r: pg.problems.append(f"request: {r.url}") if not r.url.startswith("file:") else None)
        pg.site = tmp_path / "site"
        yield pg
        browser.close()


def test_pages_render_without_console_errors_or_network(page):
    for name in ("index.html", "probe_cf_flip.html", "probe_multihop.html"):
        page.goto((page.site / name).as_uri())
        assert page.locator("table.board tbody tr").count() == 4
    assert page.locator("svg polyline").count() >= 3  # EntRec curves and metric-vs-bits charts
    assert page.problems == []


def test_script_in_a_model_name_is_shown_as_text(page):
    page.goto((page.site / "index.html").as_uri())
    assert page.locator("tbody tr td:first-child", has_text="<script>alert('x')</script>").count() == 1
    assert page.problems == []  # no alert() dialog ran


def test_clicking_a_header_sorts_the_rows(page):
    page.goto((page.site / "index.html").as_uri())
    header = page.locator("thead th", has_text="Flip rate")
    header.click()
    first = page.locator("tbody tr").first.locator("td").nth(1).inner_text()
    header.click()
    again = page.locator("tbody tr").first.locator("td").nth(1).inner_text()
    assert first != again and "asc" not in (header.get_attribute("class") or "")
    assert page.problems == []
