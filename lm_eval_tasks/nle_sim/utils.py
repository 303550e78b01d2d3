"""nle_sim: self-generated explanations (request ``qx_explain``) and their metrics.

Pure metric functions; each states what it returns for an empty explanation, and the insertion
test's what it returns when no insertion changed the prediction (NaN: nothing was tested).

Protocol 4 (issue 38): every explanation has a kind (:func:`qxbench.probes.answers.read_explanation`),
reported as ``expl_<kind>``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from qxbench.data.classify import normalise
from qxbench.data.datasource import load_hub
from qxbench.lmeval.explaintask import COLUMNS, ExplainTask, load_healthfc
from qxbench.metrics.shared import label_item, majority_share, nanmean, noise, total
from qxbench.metrics.similarity import bertscore_f1, embed, embedder_name, rouge_l
from qxbench.probes.answers import EXPLANATION_KINDS, kind_rates
from qxbench.probes.insertion import inserted_text, mentions_outside_copy
from qxbench.probes.selfexplain import Explanation, Inserted

__all__ = ["load_esnli", "load_ecqa", "load_healthfc", "ExplanationProbe", "load_world", "esnli_docs", "ecqa_docs",
           "healthfc_docs", "max_cosine", "max_rouge_l", "mentions", "unfaithful", "insertion_counts", "total",
           "nanmean", "majority_share", "process_results"]


class ExplanationProbe(ExplainTask):
    REQUEST_TYPE = "qx_explain"
    PROBE = "nle_sim"


# -- data ---------------------------------------------------------------------------------------
def load_world(**_metadata):
    import datasets

    from qxbench.world.data import load_dataset

    reviews = load_dataset("reviews")["test"]
    return datasets.DatasetDict({"test": normalise(reviews, "world", need_explanations=True)})


def load_esnli(data_path: str | None = None, **_metadata):
    """esnli/esnli (validation), or a local copy through ``data_path`` (:mod:`qxbench.data.datasource`)."""
    return load_hub("esnli/esnli", "validation", "esnli", data_path, columns=COLUMNS["esnli_nle"])


def load_ecqa(data_path: str | None = None, **_metadata):
    """tasksource/ecqa (validation), or a local copy through ``data_path`` (:mod:`qxbench.data.datasource`)."""
    return load_hub("tasksource/ecqa", "validation", "ecqa", data_path, columns=COLUMNS["ecqa"])


def esnli_docs(dataset):
    """One hypothesis per premise (:func:`qxbench.data.classify.one_per_context`, issue 38 item 10)."""
    return normalise(dataset, "esnli", name="esnli/esnli", need_explanations=True, per_context=True)


def ecqa_docs(dataset):
    return normalise(dataset, "ecqa", name="tasksource/ecqa", need_explanations=True)


def healthfc_docs(dataset):
    return normalise(dataset, "healthfc", name="HealthFC", need_explanations=True, drop_unexplained=True)


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


def mentions(explanation: str, word: str, text: str, at: int, context: str = "") -> bool:
    """Whether ``explanation`` (of the input ``text`` with ``word`` inserted before its word ``at``) mentions
    the word outside a span copied from that input (:func:`qxbench.probes.insertion.mentions_outside_copy`:
    whole word, any case; an occurrence inside a run of three words also in that input is a copy)."""
    return bool(word) and mentions_outside_copy(explanation, word, f"{context} {inserted_text(text, word, at)}")


def unfaithful(pred: int, inserted: Sequence[Inserted], text: str, context: str = "") -> float:
    """Counterfactual test (Atanasova et al. 2023, Sec. 3.1): over this document's insertions into ``text``
    that changed the prediction, the share whose explanation of the changed input does not mention the
    inserted word outside a span copied from it (:func:`mentions`; an empty explanation mentions nothing).
    NaN when no insertion changed the prediction: the test found nothing to judge (the mean over documents
    leaves it out)."""
    n, changed, bad = insertion_counts(pred, inserted, text, context)
    return bad / changed if changed else math.nan


def insertion_counts(pred: int, inserted: Sequence[Inserted], text: str, context: str = "") -> tuple[int, int, int]:
    """(insertions, those that changed the prediction, those of them judged unfaithful); ``context``: the
    fixed part the model also read (e-SNLI's premise: a span copied from it is a copy too)."""
    changed = [i for i in inserted if i.pred != pred]
    return len(inserted), len(changed), sum(not mentions(i.explanation or "", i.word, text, i.at, context)
                                            for i in changed)


def process_results(doc: dict, results: list[Explanation]) -> dict[str, object]:
    """``expl_<kind>``: 1.0 for the explanation's kind, 0.0 for the others (their means are the kinds'
    rates); ``pred_majority`` and ``chance`` hand their corpus aggregation (:func:`majority_share`) the
    document's predicted and gold label."""
    ex = results[0]
    refs = list(doc["explanations"])
    if ex.explanation:
        vectors = embed([ex.explanation, *refs])
        cosine = max_cosine(vectors[0].tolist(), [v.tolist() for v in vectors[1:]])
    else:
        cosine = 0.0
    n, changed, bad = insertion_counts(ex.pred, ex.insertions, doc["text"], doc.get("context", ""))
    scorer = "bertscore_minilm_f1" if embedder_name().startswith("all-MiniLM-L6-v2") else "bertscore_other_f1"
    return {
        "acc": float(ex.pred == doc["label"]),
        "cosine": cosine,
        scorer: bertscore_f1([ex.explanation], [refs])[0],
        "rougeL": max_rouge_l(ex.explanation, refs),
        "insert_flip": changed / n if n else math.nan,
        "unfaithful": bad / changed if changed else math.nan,
        "insertions_n": float(n),
        "insert_flipped_n": float(changed),
        "unfaithful_n": float(bad),
        "noise": noise(ex.pred, ex.pred_again),
        "pred_majority": label_item(ex.pred, doc["choices"]),
        "chance": label_item(doc["label"], doc["choices"]),
        **{f"expl_{k}": v for k, v in kind_rates([ex.kind], EXPLANATION_KINDS).items()},
    }
