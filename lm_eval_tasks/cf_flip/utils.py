"""cf_flip: self-generated counterfactuals (request ``qx_counterfactual``) and their metrics.

Pure metric functions; each states what it returns for an empty or degenerate rewrite.
"""

from __future__ import annotations

import re

from nltk.metrics.distance import edit_distance

from qxbench.probe import ProbeTask
from qxbench.probes.classify import classify_prompt, normalise
from qxbench.probes.datasource import load_hub
from qxbench.probes.metrics import nanmean
from qxbench.probes.selfexplain import Counterfactual

__all__ = ["load_sst2", "load_ag_news", "load_esnli", "CounterfactualProbe", "nanmean", "load_world", "sst2_docs",
           "ag_news_docs", "esnli_docs", "words", "minimality", "flipped", "reached_target", "process_results"]


class CounterfactualProbe(ProbeTask):
    REQUEST_TYPE = "qx_counterfactual"

    def probe_arguments(self, doc: dict, ctx: str) -> tuple:
        return (classify_prompt(doc), doc)


# -- data ---------------------------------------------------------------------------------------
def load_world(**_metadata):
    import datasets

    from qxbench.world.data import load_dataset

    return datasets.DatasetDict({"test": normalise(load_dataset("reviews")["test"], "world")})



def load_sst2(data_path: str | None = None, **_metadata):
    """stanfordnlp/sst2 (validation), or a local copy through ``data_path`` (:mod:`qxbench.probes.datasource`)."""
    return load_hub("stanfordnlp/sst2", "validation", "sst2", data_path)


def load_ag_news(data_path: str | None = None, **_metadata):
    """fancyzhx/ag_news (test), or a local copy through ``data_path`` (:mod:`qxbench.probes.datasource`)."""
    return load_hub("fancyzhx/ag_news", "test", "ag_news", data_path)


def load_esnli(data_path: str | None = None, **_metadata):
    """esnli/esnli (validation), or a local copy through ``data_path`` (:mod:`qxbench.probes.datasource`)."""
    return load_hub("esnli/esnli", "validation", "esnli", data_path)

def sst2_docs(dataset):
    return normalise(dataset, "sst2", name="stanfordnlp/sst2")


def ag_news_docs(dataset):
    return normalise(dataset, "ag_news", name="fancyzhx/ag_news")


def esnli_docs(dataset):
    return normalise(dataset, "esnli", name="esnli/esnli")


# -- metrics ------------------------------------------------------------------------------------
_WORD = re.compile(r"\w+|[^\w\s]")


def words(text: str) -> list[str]:
    """Word and punctuation tokens: the unit of minimality, the same for every model's tokenizer."""
    return _WORD.findall(text)


def minimality(original: str, rewrite: str) -> float:
    """Token-level Levenshtein distance / the longer token count, in [0, 1]; lower = more minimal.
    Identical texts (both empty included) -> 0.0; an empty rewrite of a non-empty input -> 1.0."""
    a, b = words(original), words(rewrite)
    longest = max(len(a), len(b))
    return edit_distance(a, b) / longest if longest else 0.0


def flipped(pred: int, rewrite_pred: int | None) -> float:
    """1.0 when the rewrite's predicted label differs from the input's; an empty rewrite (None) -> 0.0."""
    return float(rewrite_pred is not None and rewrite_pred != pred)


def reached_target(target: int, rewrite_pred: int | None) -> float:
    """1.0 when the rewrite is classified as the requested label (differs from ``flipped`` with > 2 labels)."""
    return float(rewrite_pred is not None and rewrite_pred == target)


def process_results(doc: dict, results: list[Counterfactual]) -> dict[str, float]:
    cf = results[0]
    out = {
        "acc": float(cf.pred == doc["label"]),
        "flip_rate": flipped(cf.pred, cf.rewrite_pred),
        "target_rate": reached_target(cf.target, cf.rewrite_pred),
        "minimality": minimality(doc["text"], cf.rewrite),
        "ppl": cf.ppl,
        "empty_rate": float(not cf.rewrite),
    }
    if cf.ref_ppl is not None:
        out["ppl_ref"] = cf.ref_ppl
    return out
