"""cf_flip: self-generated counterfactuals (request ``qx_counterfactual``) and their metrics.

Pure metric functions; each states what it returns for an empty or degenerate rewrite. A document
with a fixed part (e-SNLI's premise, HealthFC's evidence) has only its edited part (``text``)
rewritten; minimality, similarity and perplexity are measured on that part.

Protocol 4 (issue 38): every answer has a kind (:func:`qxbench.probes.answers.read_rewrite`), reported as
``rewrite_<kind>``; only a ``valid`` rewrite can flip, and closeness (minimality, cosine, perplexity) is
measured on the *valid flips* only (a valid rewrite whose label differs from the input's), NaN elsewhere.
"""

from __future__ import annotations

import math
import re

from nltk.metrics.distance import edit_distance

from qxbench.data.classify import normalise
from qxbench.data.datasource import load_hub
from qxbench.lmeval.explaintask import COLUMNS, ExplainTask, load_healthfc
from qxbench.metrics.shared import label_item, majority_share, nanmean, noise, total
from qxbench.metrics.similarity import embed
from qxbench.probes.answers import REWRITE_KINDS, kind_rates
from qxbench.probes.selfexplain import Counterfactual

__all__ = ["load_sst2", "load_ag_news", "load_esnli", "load_healthfc", "CounterfactualProbe", "nanmean", "total",
           "majority_share", "load_world", "sst2_docs", "ag_news_docs", "esnli_docs", "healthfc_docs", "words",
           "minimality", "flipped", "reached_target", "similarity", "ppl_ratio", "rewrite_kinds",
           "process_results", "COLUMNS"]


class CounterfactualProbe(ExplainTask):
    REQUEST_TYPE = "qx_counterfactual"
    PROBE = "cf_flip"


# -- data ---------------------------------------------------------------------------------------
def load_world(**_metadata):
    import datasets

    from qxbench.world.data import load_dataset

    return datasets.DatasetDict({"test": normalise(load_dataset("reviews")["test"], "world")})


def load_sst2(data_path: str | None = None, **_metadata):
    """stanfordnlp/sst2 (validation), or a local copy through ``data_path`` (:mod:`qxbench.data.datasource`)."""
    return load_hub("stanfordnlp/sst2", "validation", "sst2", data_path, columns=COLUMNS["sst2"])


def load_ag_news(data_path: str | None = None, **_metadata):
    """fancyzhx/ag_news (test), or a local copy through ``data_path`` (:mod:`qxbench.data.datasource`)."""
    return load_hub("fancyzhx/ag_news", "test", "ag_news", data_path, columns=COLUMNS["ag_news"])


def load_esnli(data_path: str | None = None, **_metadata):
    """esnli/esnli (validation), or a local copy through ``data_path`` (:mod:`qxbench.data.datasource`)."""
    return load_hub("esnli/esnli", "validation", "esnli", data_path, columns=COLUMNS["esnli"])


def sst2_docs(dataset):
    return normalise(dataset, "sst2", name="stanfordnlp/sst2")


def ag_news_docs(dataset):
    return normalise(dataset, "ag_news", name="fancyzhx/ag_news")


def esnli_docs(dataset):
    """One hypothesis per premise (:func:`qxbench.data.classify.one_per_context`, issue 38 item 10)."""
    return normalise(dataset, "esnli", name="esnli/esnli", per_context=True)


def healthfc_docs(dataset):
    return normalise(dataset, "healthfc", name="HealthFC")


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


def flipped(pred: int | None, rewrite_pred: int | None) -> float:
    """1.0 when the rewrite's predicted label differs from the input's; a rewrite that was not judged
    (None: any kind but ``valid``) -> 0.0."""
    return float(rewrite_pred is not None and pred is not None and rewrite_pred != pred)


def reached_target(target: int, rewrite_pred: int | None) -> float:
    """1.0 when the rewrite is classified as the requested label (differs from ``flipped`` with > 2 labels)."""
    return float(rewrite_pred is not None and rewrite_pred == target)


def similarity(original: str, rewrite: str) -> float:
    """Cosine of the sentence embeddings (:mod:`qxbench.metrics.similarity`) of input and rewrite;
    0.0 for an empty rewrite (nothing of the input kept)."""
    if not rewrite.strip() or not original.strip():
        return 0.0
    a, b = embed([original, rewrite])
    return float(a @ b)


def ppl_ratio(cf: Counterfactual) -> float:
    """The rewrite's perplexity / the input's (its edited part), both under the judge: the full-precision
    reference where there is one, else the model. Above 1: the rewrite reads worse than what it edits.
    NaN where the perplexities were not measured (not a valid flip)."""
    judged = cf.ppl if cf.ref_ppl is None else cf.ref_ppl
    return judged / cf.input_ppl if cf.input_ppl > 0 else math.nan


def rewrite_kinds(kind: str, doc: dict) -> dict[str, float]:
    """``rewrite_<kind>``: 1.0 for the answer's kind, 0.0 for the others (their means are the kinds'
    rates). ``context_copy`` only where the document has a fixed part (elsewhere it cannot occur)."""
    return {f"rewrite_{k}": v for k, v in kind_rates([kind], REWRITE_KINDS).items()
            if k != "context_copy" or doc.get("context")}


def process_results(doc: dict, results: list[Counterfactual]) -> dict[str, object]:
    """Only a valid rewrite flips, by either judge; closeness is measured on the valid flips (NaN elsewhere,
    left out of the means: ``nanmean``), ``n_valid_flips`` counts them. ``pred_majority`` and ``chance`` hand
    their corpus aggregation (:func:`majority_share`) the document's predicted and gold label."""
    cf = results[0]
    judged = cf.rewrite_pred if cf.kind == "valid" else None
    flip = flipped(cf.pred, judged)
    out: dict[str, object] = {
        "acc": float(cf.pred == doc["label"]),
        "flip_rate": flip,
        "target_rate": reached_target(cf.target, judged),
        "minimality": minimality(doc["text"], cf.rewrite) if flip else math.nan,
        "cosine": similarity(doc["text"], cf.rewrite) if flip else math.nan,
        "ppl": cf.ppl if flip else math.nan,
        "ppl_ratio": ppl_ratio(cf) if flip else math.nan,
        "n_valid_flips": flip,
        "noise": noise(cf.pred, cf.pred_again),
        "pred_majority": label_item(cf.pred, doc["choices"]),
        "chance": label_item(doc["label"], doc["choices"]),
        **rewrite_kinds(cf.kind, doc),
    }
    if cf.ref_ppl is not None:
        out["ppl_ref"] = cf.ref_ppl if flip else math.nan
    if cf.ref_pred is not None:
        out["flip_rate_ref"] = flipped(cf.ref_pred, cf.ref_rewrite_pred if cf.kind == "valid" else None)
        out["agree_fp"] = float(cf.pred == cf.ref_pred)
    return out
