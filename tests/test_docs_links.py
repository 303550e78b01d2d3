"""Every relative Markdown link and image in README.md and docs/*.md resolves: the file exists, and a
`#fragment` names a heading of the target page (GitHub's anchor rule)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])

FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto:, ...


def strip_code(text: str) -> str:
    """Markdown without fenced blocks and code spans (a link there is not a link)."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def links(text: str) -> list[str]:
    return [m.group(1) for m in LINK.finditer(strip_code(text))]


def slug(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation but `-` and `_` dropped, spaces to `-`."""
    text = re.sub(r"[^\w\- ]", "", CODE_SPAN.sub(lambda m: m.group(0)[1:-1], heading).strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def dangling(page: Path, root: Path = ROOT) -> list[str]:
    """The relative links of one page that do not resolve, each with the reason."""
    bad = []
    for target in links(page.read_text(encoding="utf-8")):
        if EXTERNAL.match(target):
            continue
        path, _, fragment = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            bad.append(f"{target}: no such file {dest.relative_to(root) if dest.is_relative_to(root) else dest}")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            bad.append(f"{target}: no heading #{fragment} in {dest.relative_to(root)}")
    return bad


def test_the_link_reader_finds_links_and_images_but_not_code():
    text = ("[a](docs/a.md) ![img](x.png) [ext](https://e.org) [[t]](b.md#h)\n"
            "`[no](code.md)`\n```\n[no](fenced.md)\n```\n")
    assert links(text) == ["docs/a.md", "x.png", "https://e.org", "b.md#h"]


def test_slug_follows_githubs_rule():
    assert slug("Set-up: two commands") == "set-up-two-commands"
    assert slug("`--model_args` of `qx`") == "--model_args-of-qx"
    assert slug("Results on a real model: SmolLM2-135M-Instruct") == "results-on-a-real-model-smollm2-135m-instruct"


def test_a_missing_file_and_a_missing_heading_are_reported(tmp_path):
    page = tmp_path / "p.md"
    (tmp_path / "there.md").write_text("# Here\n", encoding="utf-8")
    page.write_text("# Top\n[ok](there.md#here) [self](#top) [gone](gone.md) [bad](there.md#nowhere)\n",
                    encoding="utf-8")
    assert dangling(page, root=tmp_path) == ["gone.md: no such file gone.md",
                                             "there.md#nowhere: no heading #nowhere in there.md"]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_relative_link_resolves(page):
    assert dangling(page) == []
