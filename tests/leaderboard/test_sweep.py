"""qxbench sweep: full precision + quantized configs in one command, straight into a leaderboard."""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path

import pytest

from leaderboard.cli import parse_configs
from qxbench.cli import main
from qxbench.errors import QxError


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (``from a import b`` gives a and a.b)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return found


def test_the_leaderboard_never_imports_qxbench_cli():
    """qxbench.cli registers the leaderboard's commands: the dependency runs one way only (no cycle)."""
    package = Path(importlib.util.find_spec("leaderboard").origin).parent
    files = sorted(package.glob("*.py"))
    assert len(files) >= 8
    offenders = [f.name for f in files if "qxbench.cli" in _imports(f)]
    assert offenders == []
    assert "leaderboard.cli" in _imports(package.parent / "qxbench" / "cli.py")  # the one direction kept


def test_configs_parse_and_full_precision_comes_first(capsys):
    assert parse_configs("bnb-nf4,gptq:bits=4:group_size=64") == [
        {"quant": "none"}, {"quant": "bnb-nf4"}, {"quant": "gptq", "bits": "4", "group_size": "64"}]
    assert "adding quant=none" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "message"), [("gtpq", "Unknown quantizer 'gtpq'"),
                                               ("gptq:bitz=4", "options are bits=N and group_size=N"),
                                               ("gptq:bits=four", "must be whole numbers")])
def test_bad_configs_are_refused_before_anything_runs(text, message):
    with pytest.raises(QxError, match=message):
        parse_configs(text)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("bitsandbytes") is None, reason="bitsandbytes not installed")
def test_one_command_from_models_to_site(tmp_path, monkeypatch):
    monkeypatch.setenv("QXBENCH_CACHE", str(tmp_path / "cache"))
    code = main(["sweep", "--quants", "none,bnb-nf4", "--tasks", "multihop,memorize", "--limit", "4",
                 "--output_path", str(tmp_path / "runs"), "--site", str(tmp_path / "site")])
    assert code == 0
    cells = json.loads((tmp_path / "site" / "leaderboard.json").read_text())
    nf4 = [c for c in cells if c["config"] == "bnb-nf4-4b"]
    assert {c["task"] for c in nf4} == {"multihop", "memorize"} and all(c["n"] == 4 for c in nf4)
    overlap = next(c for c in nf4 if c["metric"] == "top300_overlap")
    assert overlap["baseline"] == 1.0 and overlap["value"] < 1.0  # 4-bit moves the attribution
