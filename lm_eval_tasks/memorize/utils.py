"""memorize: one-hop recall and neuron-level attribution (request ``qx_memorize``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qxbench.data.classify import require_fields
from qxbench.data.lre import decode_escapes, parse_names, read_json, relation_files
from qxbench.errors import QxError
from qxbench.lmeval.probe import ProbeTask
from qxbench.metrics.shared import alias_prefix_match
from qxbench.probes.attribution import AttributionOptions
from qxbench.probes.results import MemorizeResult

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
        subject, obj = decode_escapes(str(sample["subject"])), decode_escapes(str(sample["object"]))
        rows.append({"relation": relation.get("name", Path(source).stem), "subject": subject, "object": obj,
                     "aliases": [obj], "prompt": templates[template].format(subject)})
    return rows


def load_lre(lre_path: str | None = None, lre_template: int = 0, lre_relations: str | list[str] | None = None,
             **_metadata):
    """Every relation file under ``lre_path`` (a file, or a directory searched recursively), or the
    relations named in ``lre_relations`` (file stems, comma-separated or a list; empty = all)."""
    if not lre_path:
        raise QxError("memorize_lre needs the LRE data: --metadata '{\"lre_path\": \"relations/data/factual\"}'")
    rows = []
    for file in relation_files(lre_path, parse_names(lre_relations)):
        rows += lre_rows(read_json(file), str(file), int(lre_template))
    return _dataset(rows)


# -- metrics ------------------------------------------------------------------------------------
def process_results(doc: dict, results: list[MemorizeResult]) -> dict[str, float]:
    """Per-document metrics. ``surviving_top300``: the model's neurons scoring >= the reference's tau
    (its 300th score); every tie at tau counts, so full precision reads 300 plus its ties (a mean can
    exceed 300 only by ties)."""
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
