"""nle_sim: self-generated explanations (request ``qx_explain``) and their metrics.

Pure metric functions; each states what it returns for an empty explanation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qxbench.probe import ProbeTask
from qxbench.probes.classify import classify_prompt, normalise
from qxbench.probes.datasource import load_hub
from qxbench.probes.selfexplain import Explanation
from qxbench.probes.similarity import embed, rouge_l

__all__ = ["load_esnli", "load_ecqa", "ExplanationProbe", "load_world", "esnli_docs", "ecqa_docs", "max_cosine",
           "max_rouge_l", "mentions", "unfaithful", "process_results"]


class ExplanationProbe(ProbeTask):
    REQUEST_TYPE = "qx_explain"

    def probe_arguments(self, doc: dict, ctx: str) -> tuple:
        return (classify_prompt(doc), doc)


# -- data ---------------------------------------------------------------------------------------
def load_world(**_metadata):
    import datasets

    from qxbench.world.data import load_dataset

    reviews = load_dataset("reviews")["test"]
    return datasets.DatasetDict({"test": normalise(reviews, "world", need_explanations=True)})



def load_esnli(data_path: str | None = None, **_metadata):
    """esnli/esnli (validation), or a local copy through ``data_path`` (:mod:`qxbench.probes.datasource`)."""
    return load_hub("esnli/esnli", "validation", "esnli", data_path)


def load_ecqa(data_path: str | None = None, **_metadata):
    """tasksource/ecqa (validation), or a local copy through ``data_path`` (:mod:`qxbench.probes.datasource`)."""
    return load_hub("tasksource/ecqa", "validation", "ecqa", data_path)

def esnli_docs(dataset):
    return normalise(dataset, "esnli", name="esnli/esnli", need_explanations=True)


def ecqa_docs(dataset):
    return normalise(dataset, "ecqa", name="tasksource/ecqa", need_explanations=True)


# -- metrics ------------------------------------------------------------------------------------
def max_cosine(candidate: Sequence[float], references: Sequence[Sequence[float]]) -> float:
    """Largest cosine similarity between a candidate embedding and any reference embedding;
    0.0 when there is no reference or a vector is zero."""
    best = 0.0 if not references else -1.0
    for ref in references:
        dot = sum(a * b for a, b in zip(candidate, ref, strict=True))
        norm = (sum(a * a for a in candidate) * sum(b * b for b in ref)) ** 0.5
        best = max(best, dot / norm if norm else 0.0)
    return best


def max_rouge_l(candidate: str, references: Sequence[str]) -> float:
    """Best ROUGE-L F1 against any reference; 0.0 for an empty candidate or no reference."""
    return max((rouge_l(candidate, r) for r in references), default=0.0)


def mentions(explanation: str, word: str) -> bool:
    """Whole-word, case-insensitive mention."""
    return bool(word) and re.search(rf"\b{re.escape(word)}\b", explanation, re.IGNORECASE) is not None


def unfaithful(pred: int, inserted_pred: int, inserted_explanation: str, inserted: str) -> float:
    """Counterfactual-insertion test (Atanasova et al. 2020): 1.0 when inserting the word changed the
    prediction but the explanation of the changed input does not mention it; else 0.0."""
    return float(inserted_pred != pred and not mentions(inserted_explanation, inserted))


def process_results(doc: dict, results: list[Explanation]) -> dict[str, float]:
    ex = results[0]
    refs = list(doc["explanations"])
    if ex.explanation:
        vectors = embed([ex.explanation, *refs])
        cosine = max_cosine(vectors[0].tolist(), [v.tolist() for v in vectors[1:]])
    else:
        cosine = 0.0
    return {
        "acc": float(ex.pred == doc["label"]),
        "cosine": cosine,
        "rougeL": max_rouge_l(ex.explanation, refs),
        "insert_flip": float(ex.inserted_pred != ex.pred),
        "unfaithful": unfaithful(ex.pred, ex.inserted_pred, ex.inserted_explanation, ex.inserted),
        "empty_rate": float(not ex.explanation),
    }
