"""cf_flip: self-generated counterfactuals (request ``qx_counterfactual``) and their metrics.

Pure metric functions; each states what it returns for an empty or degenerate rewrite. A document
with a fixed part (e-SNLI's premise, HealthFC's evidence) has only its edited part (``text``)
rewritten; minimality, similarity and perplexity are measured on that part.
"""

from __future__ import annotations

import re

from nltk.metrics.distance import edit_distance

from qxbench.probes.classify import normalise
from qxbench.probes.datasource import load_hub
from qxbench.probes.explaintask import COLUMNS, ExplainTask, load_healthfc
from qxbench.probes.metrics import nanmean
from qxbench.probes.selfexplain import Counterfactual
from qxbench.probes.similarity import embed

__all__ = ["load_sst2", "load_ag_news", "load_esnli", "load_healthfc", "CounterfactualProbe", "nanmean",
           "load_world", "sst2_docs", "ag_news_docs", "esnli_docs", "healthfc_docs", "words", "minimality",
           "flipped", "reached_target", "leaks_label", "similarity", "process_results", "COLUMNS"]


class CounterfactualProbe(ExplainTask):
    REQUEST_TYPE = "qx_counterfactual"
    PROBE = "cf_flip"


# -- data ---------------------------------------------------------------------------------------
def load_world(**_metadata):
    import datasets

    from qxbench.world.data import load_dataset

    return datasets.DatasetDict({"test": normalise(load_dataset("reviews")["test"], "world")})


def load_sst2(data_path: str | None = None, **_metadata):
    """stanfordnlp/sst2 (validation), or a local copy through ``data_path`` (:mod:`qxbench.probes.datasource`)."""
    return load_hub("stanfordnlp/sst2", "validation", "sst2", data_path, columns=COLUMNS["sst2"])


def load_ag_news(data_path: str | None = None, **_metadata):
    """fancyzhx/ag_news (test), or a local copy through ``data_path`` (:mod:`qxbench.probes.datasource`)."""
    return load_hub("fancyzhx/ag_news", "test", "ag_news", data_path, columns=COLUMNS["ag_news"])


def load_esnli(data_path: str | None = None, **_metadata):
    """esnli/esnli (validation), or a local copy through ``data_path`` (:mod:`qxbench.probes.datasource`)."""
    return load_hub("esnli/esnli", "validation", "esnli", data_path, columns=COLUMNS["esnli"])


def sst2_docs(dataset):
    return normalise(dataset, "sst2", name="stanfordnlp/sst2")


def ag_news_docs(dataset):
    return normalise(dataset, "ag_news", name="fancyzhx/ag_news")


def esnli_docs(dataset):
    return normalise(dataset, "esnli", name="esnli/esnli")


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


def _names(text: str, label: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(label.lower())}(?!\w)", text.lower()) is not None


def leaks_label(original: str, rewrite: str, choices: list[str]) -> bool:
    """True when the rewrite names a label of the set (a whole word or phrase, any case) that the
    input does not name: "Sports", "Sentiment: positive", 'The review is "positive" instead of
    "negative"'. The classifier then reads the label, not a changed input, so such a rewrite is no
    counterfactual; :func:`process_results` counts it as no flip, as an empty rewrite. A label the
    input already names ("world" in "the world's largest PC maker") is not a leak. False for an
    empty rewrite."""
    return any(_names(rewrite, c) and not _names(original, c) for c in choices)


def flipped(pred: int | None, rewrite_pred: int | None) -> float:
    """1.0 when the rewrite's predicted label differs from the input's; an empty rewrite (None) -> 0.0."""
    return float(rewrite_pred is not None and pred is not None and rewrite_pred != pred)


def reached_target(target: int, rewrite_pred: int | None) -> float:
    """1.0 when the rewrite is classified as the requested label (differs from ``flipped`` with > 2 labels)."""
    return float(rewrite_pred is not None and rewrite_pred == target)


def similarity(original: str, rewrite: str) -> float:
    """Cosine of the sentence embeddings (:mod:`qxbench.probes.similarity`) of input and rewrite;
    0.0 for an empty rewrite (nothing of the input kept)."""
    if not rewrite.strip() or not original.strip():
        return 0.0
    a, b = embed([original, rewrite])
    return float(a @ b)


def process_results(doc: dict, results: list[Counterfactual]) -> dict[str, float]:
    """A rewrite that leaks a label (:func:`leaks_label`) flips nothing, by either judge."""
    cf = results[0]
    leak = leaks_label(doc["text"], cf.rewrite, list(doc["choices"]))
    judged = None if leak else cf.rewrite_pred
    out = {
        "acc": float(cf.pred == doc["label"]),
        "flip_rate": flipped(cf.pred, judged),
        "target_rate": reached_target(cf.target, judged),
        "minimality": minimality(doc["text"], cf.rewrite),
        "cosine": similarity(doc["text"], cf.rewrite),
        "ppl": cf.ppl,
        "empty_rate": float(not cf.rewrite),
        "unchanged_rate": float(words(cf.rewrite) == words(doc["text"])),
        "label_leak_rate": float(leak),
    }
    if cf.ref_ppl is not None:
        out["ppl_ref"] = cf.ref_ppl
    if cf.ref_pred is not None:
        out["flip_rate_ref"] = flipped(cf.ref_pred, None if leak else cf.ref_rewrite_pred)
    return out
