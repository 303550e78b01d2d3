"""Classification documents for the explainability probes (``cf_flip``, ``nle_sim``).

Every dataset is normalised to one schema so that the probes never see dataset-specific columns:

    text          the input the model classifies (and rewrites)
    choices       label names, in label-index order
    label         index of the gold label
    input_name    what the input is called in the prompt ("Review")
    label_name    what the label is called in the prompt ("Sentiment")
    explanations  reference explanations (may be empty for cf_flip)
    insert_words  candidate words for the counterfactual-insertion faithfulness test

Real datasets (SST-2, AG News, e-SNLI, ECQA) get an adapter here (``ADAPTERS``); a dataset missing
a column the adapter needs raises one line naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from qxbench.errors import QxError, unknown

Doc = dict[str, Any]

FIELDS = ("text", "choices", "label", "input_name", "label_name", "explanations", "insert_words")

# Adjectives and adverbs for the insertion test on real data (Atanasova et al. 2020 insert random
# adjectives/adverbs; the explanation must mention the word whenever the prediction changes).
GENERIC_INSERT_WORDS = ("really", "very", "quite", "truly", "rather", "strange", "small", "old", "new", "famous",
                        "large", "recent", "simple", "modern", "certain")


def classify_prompt(doc: Mapping[str, Any], text: str | None = None) -> str:
    return f"{doc['input_name']}: {doc['text'] if text is None else text}\n{doc['label_name']}:"


def rewrite_prompt(doc: Mapping[str, Any], pred: int, target: int) -> str:
    return f"{classify_prompt(doc)} {doc['choices'][pred]}\nRewrite as {doc['choices'][target]}:"


def explain_prompt(doc: Mapping[str, Any], pred: int, text: str | None = None) -> str:
    return f"{classify_prompt(doc, text)} {doc['choices'][pred]}\nExplanation:"


def require_fields(columns: Iterable[str], needed: Iterable[str], dataset: str) -> None:
    have = set(columns)
    for field in needed:
        if field not in have:
            raise QxError(f"Dataset '{dataset}' is missing required field '{field}' (has: {', '.join(sorted(have))})")


def check_doc(doc: Mapping[str, Any], dataset: str = "documents") -> None:
    """A normalised document is complete and its label indexes its choices."""
    require_fields(doc.keys(), FIELDS, dataset)
    if not isinstance(doc["label"], int) or not 0 <= doc["label"] < len(doc["choices"]):
        raise QxError(f"Dataset '{dataset}': label {doc['label']!r} is not an index into choices {doc['choices']}")
    if len(doc["choices"]) < 2:
        raise QxError(f"Dataset '{dataset}': needs at least two choices, got {doc['choices']}")


def _doc(text: str, choices: Iterable[str], label: int, input_name: str, label_name: str,
         explanations: Iterable[str] = (), insert_words: Iterable[str] = GENERIC_INSERT_WORDS) -> Doc:
    return {"text": text, "choices": list(choices), "label": int(label), "input_name": input_name,
            "label_name": label_name, "explanations": [e for e in explanations if e and e.strip()],
            "insert_words": list(insert_words)}


def world_review(row: Mapping[str, Any]) -> Doc:
    from qxbench.world.generate import LABELS, POLAR_PAIRS

    words = sorted({w for pair in POLAR_PAIRS for w in pair})
    return _doc(row["text"], LABELS, LABELS.index(row["label"]), "Review", "Sentiment", [row["explanation"]], words)


def sst2(row: Mapping[str, Any]) -> Doc:
    return _doc(row["sentence"], ("negative", "positive"), row["label"], "Review", "Sentiment")


AG_NEWS_LABELS = ("world", "sports", "business", "science")


def ag_news(row: Mapping[str, Any]) -> Doc:
    return _doc(row["text"], AG_NEWS_LABELS, row["label"], "Article", "Topic")


ESNLI_LABELS = ("entailment", "neutral", "contradiction")


def esnli(row: Mapping[str, Any]) -> Doc:
    text = f"{row['premise']} Hypothesis: {row['hypothesis']}"
    explanations = [row[k] for k in ("explanation_1", "explanation_2", "explanation_3") if k in row]
    return _doc(text, ESNLI_LABELS, row["label"], "Premise", "Relation", explanations)


ECQA_OPTIONS = ("q_op1", "q_op2", "q_op3", "q_op4", "q_op5")


def ecqa(row: Mapping[str, Any]) -> Doc:
    """tasksource/ecqa: a CommonsenseQA question, five options, the answer text and a free-flow
    explanation (``taskB``). The labels are the options themselves."""
    options = [str(row[k]) for k in ECQA_OPTIONS]
    if row["q_ans"] not in options:
        raise QxError(f"Dataset 'tasksource/ecqa': answer {row['q_ans']!r} is not one of the options {options}")
    return _doc(str(row["q_text"]), options, options.index(row["q_ans"]), "Question", "Answer", [row["taskB"]])


# name -> (columns the adapter reads, adapter)
ADAPTERS: dict[str, tuple[tuple[str, ...], Callable[[Mapping[str, Any]], Doc]]] = {
    "world": (("text", "label", "explanation"), world_review),
    "sst2": (("sentence", "label"), sst2),
    "ag_news": (("text", "label"), ag_news),
    "esnli": (("premise", "hypothesis", "label", "explanation_1"), esnli),
    "ecqa": (("q_text", *ECQA_OPTIONS, "q_ans", "taskB"), ecqa),
}


def normalise(dataset: Any, adapter: str, *, name: str | None = None, need_explanations: bool = False) -> Any:
    """Map a ``datasets.Dataset`` through an adapter; rows with an unlabelled gold (-1) are dropped."""
    if adapter not in ADAPTERS:
        raise unknown("dataset adapter", adapter, ADAPTERS)
    columns, fn = ADAPTERS[adapter]
    label = name or adapter
    require_fields(dataset.column_names, columns, label)
    rows = [fn(r) for r in dataset if r.get("label", 0) != -1]
    if not rows:
        raise QxError(f"Dataset '{label}' has no labelled rows")
    for row in rows:
        check_doc(row, label)
        if need_explanations and not row["explanations"]:
            raise QxError(f"Dataset '{label}': a row has no reference explanation (field 'explanations' is empty)")
    import datasets

    return datasets.Dataset.from_list(rows)
