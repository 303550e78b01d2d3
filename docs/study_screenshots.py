"""Screenshots of a rating page (a few ratings given) and of a probe page's human ratings block, in
headless Chromium (for the README).

    python docs/study_screenshots.py STUDY_DIR/rate_r1.html SITE_DIR/probe_nle_sim.html \
        docs/study-page.png docs/study-block.png
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rating_page", type=Path)
    parser.add_argument("probe_page", type=Path)
    parser.add_argument("page_png", type=Path)
    parser.add_argument("block_png", type=Path)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.goto(args.rating_page.resolve().as_uri())
        first = page.locator("section.item").first
        for n, value in enumerate((4, 5, 4, 3, 4, 2)):  # the first answers of the first item
            first.locator(f"input[type=radio][value='{value}']").nth(n).check()
        first.scroll_into_view_if_needed()
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(args.page_png))
        page.goto(args.probe_page.resolve().as_uri())
        page.locator("section.human").screenshot(path=str(args.block_png))
        browser.close()
    print(args.page_png, args.block_png)


if __name__ == "__main__":
    main()
