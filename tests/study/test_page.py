"""The rating page in real headless Chromium: rate, reload and resume, download (the browser fixture
and its skip/require rule are tests/leaderboard/test_browser.py's)."""

from __future__ import annotations

import json

import pytest

from qxbench.cli import main
from qxbench.study.page import script_json
from tests.leaderboard.test_browser import browser  # noqa: F401  (the fixture)


@pytest.fixture()
def study_page(browser, runs_dir, tmp_path):  # noqa: F811
    out = tmp_path / "study"
    assert main(["study", "make", str(runs_dir), "-o", str(out), "--items", "2", "--raters", "1"]) == 0
    context = browser.new_context(accept_downloads=True)
    pg = context.new_page()
    pg.problems = []
    pg.on("console", lambda m: pg.problems.append(m.text) if m.type in ("error", "warning") else None)
    pg.on("pageerror", lambda e: pg.problems.append(str(e)))
    pg.on("request", lambda r: pg.problems.append(f"request: {r.url}") if not r.url.startswith(("file:", "blob:"))
          else None)
    pg.study = out
    yield pg
    context.close()


def test_rate_reload_resume_and_download(study_page, tmp_path):
    pg = study_page
    pg.goto((pg.study / "rate_r1.html").as_uri())
    radios = pg.locator("input[type=radio][value='4']")
    assert radios.count() == 4 * 3 * 3  # 4 items x 3 answers x 3 criteria
    assert pg.locator("#progress").inner_text() == "0 / 36 ratings"
    for i in range(5):
        radios.nth(i).check()
    pg.locator("input[type=radio][value='2']").nth(5).check()
    assert pg.locator("#progress").inner_text() == "6 / 36 ratings"
    pg.reload()
    assert pg.locator("#progress").inner_text() == "6 / 36 ratings"
    assert pg.locator("input[type=radio]:checked").count() == 6
    assert pg.locator("input[type=radio][value='2']").nth(5).is_checked()
    with pg.expect_download() as info:
        pg.locator("#download").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    data = json.loads(path.read_text())
    assert data["rater"] == "r1"
    assert data["complete"] is False
    assert sum(len(c) for slots in data["ratings"].values() for c in slots.values()) == 6
    assert main(["study", "collect", str(pg.study), str(path), "-o", str(tmp_path / "r.json")]) == 0
    assert pg.problems == []


def test_the_shared_page_asks_for_a_name_and_keeps_raters_apart(study_page):
    pg = study_page
    pg.goto((pg.study / "rate.html").as_uri())
    first = pg.locator("input[type=radio][value='3']").first
    first.click()
    assert not first.is_checked()  # no rater yet: nothing is recorded
    pg.fill("#rater", "ann")
    pg.locator("#rater").dispatch_event("change")
    first.check()
    assert pg.locator("#progress").inner_text().startswith("1 / ")
    pg.fill("#rater", "bob")
    pg.locator("#rater").dispatch_event("change")
    assert pg.locator("input[type=radio]:checked").count() == 0
    pg.reload()  # the last rater's name is remembered
    assert pg.locator("#rater").input_value() == "bob"
    assert pg.problems == []


def test_text_from_the_model_is_shown_as_text(study_page, runs_dir, tmp_path):
    pg = study_page
    assert main(["study", "make", str(runs_dir), "-o", str(tmp_path / "all"), "--items", "6"]) == 0  # every document
    pg.goto((tmp_path / "all" / "rate.html").as_uri())
    assert pg.locator(".input", has_text="<b>rude</b>").count() == 2  # nle_sim and cf_flip: markup shown as text
    assert pg.locator(".field", has_text="fp says: The staff's \"smile\" was <b>rude</b>.").count() == 1
    assert pg.locator(".input b, .field b b").count() == 0
    assert "</script>" not in script_json({"x": "</script><script>alert(1)</script>"})
    assert pg.problems == []
