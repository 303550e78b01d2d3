"""qxbench sweep: full precision + quantized configs in one command, straight into a leaderboard."""

from __future__ import annotations

import importlib.util
import json

import pytest

from leaderboard.cli import parse_configs
from qxbench.cli import main
from qxbench.errors import QxError


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
