"""The site in real headless Chromium (Debian's chromium, driven by Playwright). Skipped without them,
except in CI (``CI`` set) or with ``QX_REQUIRE_BROWSER=1``: there a missing browser is a failure, so the
XSS and no-network checks can never be skipped in silence."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from qxbench.cli import main

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
REQUIRED = bool(os.environ.get("CI")) or os.environ.get("QX_REQUIRE_BROWSER") == "1"

OVERLAPS = """() => {
  const box = (e) => e.getBoundingClientRect();
  const meet = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const found = [];
  document.querySelectorAll("svg").forEach((svg) => {
    const ticks = Array.from(svg.querySelectorAll("text.tick")).map(box);
    svg.querySelectorAll("text.axis").forEach((axis) => {
      if (ticks.some((t) => meet(box(axis), t))) { found.push(axis.textContent); }
    });
  });
  return found;
}"""


def unavailable(what: str) -> None:
    """Skip, or fail where the browser tests are required (CI)."""
    if REQUIRED:
        pytest.fail(f"{what}: CI (or QX_REQUIRE_BROWSER=1) requires the browser tests; install Debian's chromium "
                    "(apt-get install -y chromium) and playwright (pip install -e '.[test]')", pytrace=False)
    pytest.skip(what)


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        unavailable("chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=ARGS)
        yield launched
        launched.close()


def _page(browser, results: Path, site: Path):
    assert main(["leaderboard", "build", str(results), "-o", str(site), "--bootstrap_iters", "200"]) == 0
    pg = browser.new_page(viewport={"width": 1400, "height": 900})
    pg.problems = []
    pg.on("console", lambda m: pg.problems.append(m.text) if m.type in ("error", "warning") else None)
    pg.on("pageerror", lambda e: pg.problems.append(str(e)))
    pg.on("dialog", lambda d: (pg.problems.append(f"dialog: {d.message}"), d.dismiss()))
    pg.on("request", lambda r: pg.problems.append(f"request: {r.url}") if not r.url.startswith("file:") else None)
    pg.site = site
    return pg


@pytest.fixture()
def page(browser, results_dir, tmp_path):
    pg = _page(browser, results_dir, tmp_path / "site")
    yield pg
    pg.close()


@pytest.fixture()
def wide_page(browser, wide_results_dir, tmp_path):
    pg = _page(browser, wide_results_dir, tmp_path / "site")
    yield pg
    pg.close()


def test_pages_render_without_console_errors_or_network(page):
    for name in ("index.html", "probe_cf_flip.html", "probe_multihop.html"):
        page.goto((page.site / name).as_uri())
        assert page.locator("table.board tbody tr").count() == 4
    assert page.locator("svg polyline").count() >= 3  # EntRec curves and metric-vs-bits charts
    assert page.problems == []


def test_script_in_a_model_name_is_shown_as_text(page):
    page.goto((page.site / "index.html").as_uri())
    assert page.locator("tbody tr td:first-child", has_text="<script>alert('x')</script>").count() == 1
    page.goto((page.site / "probe_cf_flip.html").as_uri())
    assert page.locator("tbody tr td:first-child", has_text="<script>alert('x')</script>").count() == 1
    assert page.problems == []  # no alert() dialog ran


def test_clicking_a_header_sorts_the_rows(page):
    page.goto((page.site / "index.html").as_uri())
    header = page.locator("thead th", has_text="Flip rate")
    header.click()
    first = page.locator("tbody tr").first.locator("td").nth(1).inner_text()
    header.click()
    again = page.locator("tbody tr").first.locator("td").nth(1).inner_text()
    assert first != again
    assert "asc" not in (header.get_attribute("class") or "")
    assert page.problems == []


def test_the_index_fits_a_1400_px_screen(wide_page):
    """2 models x 5 configs x 6 probes: one summary row per model x config, no horizontal scrolling."""
    wide_page.goto((wide_page.site / "index.html").as_uri())
    assert wide_page.locator("table.summary tbody tr").count() == 10
    assert wide_page.locator("table.summary thead th").count() == 3 + 6
    assert wide_page.evaluate("document.documentElement.scrollWidth") <= 1400
    assert wide_page.locator("tbody tr").nth(1).locator("td").nth(3).inner_text().count("n=20") == 1
    assert wide_page.problems == []


def test_axis_titles_do_not_overlap_tick_labels(wide_page):
    for name in ("probe_calib.html", "probe_neurons.html", "probe_multihop.html"):
        wide_page.goto((wide_page.site / name).as_uri())
        assert wide_page.locator("svg text.axis").count() >= 4
        assert wide_page.evaluate(OVERLAPS) == []
        assert wide_page.locator("svg path.bar").count() > 0  # points carry their intervals
    assert wide_page.problems == []
