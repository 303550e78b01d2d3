"""memorize: one-hop recall and neuron-level attribution (request ``qx_memorize``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qxbench.errors import QxError
from qxbench.probe import ProbeTask
from qxbench.probes.attribution import AttributionOptions
from qxbench.probes.classify import require_fields
from qxbench.probes.metrics import alias_prefix_match
from qxbench.probes.requests import MemorizeResult

__all__ = ["MemorizeProbe", "load_world", "load_lre", "lre_rows", "alias_prefix_match", "process_results"]


class MemorizeProbe(ProbeTask):
    REQUEST_TYPE = "qx_memorize"

    def probe_arguments(self, doc: dict, ctx: str) -> tuple:
        options = dict(self.config.metadata or {})
        AttributionOptions.from_metadata(options)  # a bad option stops the run before the model is called
        return (doc["prompt"], doc["object"], options)


# -- data ---------------------------------------------------------------------------------------
def _dataset(rows: list[dict[str, Any]]):
    import datasets

    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def load_world(**_metadata):
    from qxbench.world.data import read_rows

    return _dataset([{k: r[k] for k in ("relation", "subject", "object", "aliases", "prompt")}
                     for r in read_rows("facts")])


def lre_rows(relation: dict[str, Any], source: str, template: int = 0) -> list[dict[str, Any]]:
    """Rows of one LRE relation file: ``prompt_templates[template].format(subject)``."""
    require_fields(relation, ("samples", "prompt_templates"), source)
    templates = relation["prompt_templates"]
    if not templates or not 0 <= template < len(templates):
        raise QxError(f"{source}: lre_template={template} but the file has {len(templates)} prompt_templates")
    rows = []
    for sample in relation["samples"]:
        require_fields(sample, ("subject", "object"), source)
        rows.append({"relation": relation.get("name", Path(source).stem), "subject": sample["subject"],
                     "object": sample["object"], "aliases": [sample["object"]],
                     "prompt": templates[template].format(sample["subject"])})
    return rows


def load_lre(lre_path: str | None = None, lre_template: int = 0, **_metadata):
    if not lre_path:
        raise QxError("memorize_lre needs the LRE data: --metadata '{\"lre_path\": \"relations/data/factual\"}'")
    path = Path(lre_path)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files or not files[0].is_file():
        raise QxError(f"lre_path '{lre_path}' is not a .json file or a directory of them")
    rows = []
    for file in files:
        try:
            relation = json.loads(file.read_text())
        except json.JSONDecodeError as err:
            raise QxError(f"{file}: not valid JSON ({err.msg} at line {err.lineno})") from None
        rows += lre_rows(relation, str(file), int(lre_template))
    return _dataset(rows)


# -- metrics ------------------------------------------------------------------------------------
def process_results(doc: dict, results: list[MemorizeResult]) -> dict[str, float]:
    res = results[0]
    attr = res.attribution
    out = {
        "recall": alias_prefix_match(res.completion, doc["aliases"]),
        "gold_logprob": attr.gold_logprob,
        "gold_rank": float(attr.gold_rank),
        "target_is_gold": float(attr.target == attr.gold),
        "attn_imp": sum(attr.attn_imp),
        "ffn_imp": sum(attr.ffn_imp),
    }
    if res.surviving is not None:
        out["surviving_top300"] = float(res.surviving)
        out["top300_overlap"] = float(res.overlap)
    return out
