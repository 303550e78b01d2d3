"""multihop: latent multi-hop reasoning, TwoHopFact-style (request ``qx_multihop``)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from qxbench.data.classify import require_fields
from qxbench.data.datasource import load_hub, read_csv
from qxbench.errors import QxError
from qxbench.lmeval.probe import ProbeTask
from qxbench.metrics.shared import alias_prefix_match
from qxbench.probes.results import MultiHopResult

__all__ = ["load_twohopfact", "MultiHopProbe", "COLUMNS", "load_world", "load_world_seen", "load_lre_chains",
           "twohopfact_docs", "parse_aliases", "alias_prefix_match", "process_results"]

# The TwoHopFact columns the probe reads.
COLUMNS = ("r1(e1).prompt", "r2(e2).prompt", "r2(r1(e1)).prompt", "r2(r1(e1)).subject_cut.prompt",
           "e2.value", "e2.aliases", "e3.value", "e3.aliases")


class MultiHopProbe(ProbeTask):
    REQUEST_TYPE = "qx_multihop"

    def probe_arguments(self, doc: dict, ctx: str) -> tuple:
        return (doc["r2(r1(e1)).prompt"], {c: doc[c] for c in COLUMNS})


# -- data ---------------------------------------------------------------------------------------
def _world(split: str):
    from qxbench.world.data import load_dataset

    return load_dataset("twohop", split=split)


def load_world(**_metadata):
    return _world("eval")


def load_world_seen(**_metadata):
    return _world("train")


def parse_aliases(value: Any, field: str) -> list[str]:
    """A list, or a string holding a JSON / Python list (as TwoHopFact's CSV stores it)."""
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str):
        for parse in (json.loads, ast.literal_eval):
            try:
                parsed = parse(value)
            except (ValueError, SyntaxError):
                continue
            if isinstance(parsed, list):
                return [str(v) for v in parsed]
    raise QxError(f"Field '{field}' must be a list of aliases, got {value!r}")



def load_twohopfact(data_path: str | None = None, **_metadata):
    """soheeyang/TwoHopFact (train), or a local copy through ``data_path`` (:mod:`qxbench.data.datasource`)."""
    return load_hub("soheeyang/TwoHopFact", "train", "twohopfact", data_path, columns=dict.fromkeys(COLUMNS, object))

def twohopfact_docs(dataset):
    require_fields(dataset.column_names, COLUMNS, "soheeyang/TwoHopFact")

    def fix(row: dict[str, Any]) -> dict[str, Any]:
        return {"e2.aliases": parse_aliases(row["e2.aliases"], "e2.aliases"),
                "e3.aliases": parse_aliases(row["e3.aliases"], "e3.aliases")}

    return dataset.map(fix)


def load_lre_chains(data_path: str | None = None, **_metadata):
    """A CSV of TwoHopFact's schema written by ``qxbench data twohop`` (chains composed from LRE relations)."""
    import datasets

    if not data_path:
        raise QxError("multihop_lre needs a CSV of chains: `qxbench data twohop --lre DIR -o chains.csv`, then "
                      "--metadata '{\"data_path\": \"chains.csv\"}'")
    path = Path(data_path)
    if not path.is_file():
        raise QxError(f"data_path '{data_path}' is not a file (write one with `qxbench data twohop --lre DIR -o FILE`)")
    rows = [row for _, row in read_csv(path, COLUMNS)]  # empty, binary, ragged, no chains: one line naming it
    return datasets.DatasetDict({"test": twohopfact_docs(datasets.Dataset.from_list(rows))})


# -- metrics ------------------------------------------------------------------------------------
def process_results(doc: dict, results: list[MultiHopResult]) -> dict[str, float]:
    res = results[0]
    with_value = lambda e: [doc[f"{e}.value"], *doc[f"{e}.aliases"]]  # noqa: E731
    return {
        "entrec_max": max(res.entrec),
        "cnst": res.cnst,
        "acc_r1": alias_prefix_match(res.completions["r1(e1)"], with_value("e2")),
        "acc_r2": alias_prefix_match(res.completions["r2(e2)"], with_value("e3")),
        "acc_twohop": alias_prefix_match(res.completions["r2(r1(e1))"], with_value("e3")),
    }
