"""Screenshot a built leaderboard page in headless Chromium (for the README).

    python docs/screenshot.py SITE_DIR/index.html docs/leaderboard.png [--width 1500] [--max-height 1600]

``--max-height``: keep the top of a long page only (a probe page's table and first charts).
Needs playwright (the test extra) and Debian's chromium (``apt-get install -y chromium``).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1500)
    parser.add_argument("--max-height", type=int, default=None, help="crop the full page to this many pixels")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": args.width, "height": 800})
        page.goto(args.page.resolve().as_uri())
        height = page.evaluate("document.documentElement.scrollHeight")
        clip = ({"x": 0, "y": 0, "width": args.width, "height": min(height, args.max_height)}
                if args.max_height else None)
        page.screenshot(path=str(args.out), full_page=True, clip=clip)
        browser.close()
    print(args.out)


if __name__ == "__main__":
    main()
