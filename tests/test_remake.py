"""benchmarks.tables.remake: the README's explanation tables are the committed JSONs', written between its
markers; a page without them is refused before any step runs or any page is written."""

from __future__ import annotations

import pytest

from benchmarks.tables import remake

PAGE = "intro\n\n<!-- explain_real:begin -->\n\n| old |\n\n<!-- explain_real:end -->\n\nreading\n"


def test_swapped_replaces_only_the_block():
    out = remake.swapped(PAGE, "explain_real", "| new |\n")
    assert out == "intro\n\n<!-- explain_real:begin -->\n\n| new |\n\n<!-- explain_real:end -->\n\nreading\n"
    assert remake.swapped(out, "explain_real", "| new |") == out  # remaking twice changes nothing


@pytest.mark.parametrize("text", ["no markers", PAGE + PAGE, PAGE.replace("begin", "BEGIN"),
                                  "<!-- explain_real:end -->\n<!-- explain_real:begin -->\n"])
def test_swapped_refuses_a_page_without_one_pair(text):
    with pytest.raises(ValueError, match="README.md: needs one '<!-- explain_real:begin -->'"):
        remake.swapped(text, "explain_real", "| new |", "README.md")


def test_write_block_writes_no_page_when_one_lacks_markers(tmp_path):
    good, bad = tmp_path / "good.md", tmp_path / "bad.md"
    good.write_text(PAGE)
    bad.write_text("no markers\n")
    with pytest.raises(ValueError, match="bad.md"):
        remake.write_block((good, bad), "explain_real", "| new |")
    assert good.read_text() == PAGE
    assert remake.write_block((good,), "explain_real", "| new |") == [good]
    assert "| new |" in good.read_text() and "| old |" not in good.read_text()
    assert remake.write_block((good,), "explain_real", "| new |") == []


def test_main_refuses_before_running_a_step(tmp_path, monkeypatch, capsys):
    page = tmp_path / "README.md"
    page.write_text("no markers\n")
    monkeypatch.setattr(remake, "BLOCKS", (remake.Block("explain_real", tmp_path / "x.json", (page,)),))
    monkeypatch.setattr(remake, "run_steps", lambda *a, **k: pytest.fail("a step ran"))
    assert remake.main([]) == 2
    assert capsys.readouterr().err.strip().startswith(f"remake: {page}: needs one")
    assert page.read_text() == "no markers\n"


@pytest.mark.parametrize(("block", "page"), [(b, p) for b in remake.BLOCKS for p in b.pages],
                         ids=lambda x: getattr(x, "name", None))
def test_committed_pages_hold_the_committed_table(block, page):
    """What the README and docs show is what the explain_real JSONs hold: a table edited by hand, or a
    JSON remade without `python -m benchmarks.tables.remake`, fails here."""
    text = page.read_text(encoding="utf-8")
    assert remake.swapped(text, block.name, remake.table_of(block), str(page)) == text
