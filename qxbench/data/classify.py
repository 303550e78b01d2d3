"""Classification documents for the explainability probes (``cf_flip``, ``nle_sim``).

Every dataset is normalised to one schema so that the probes never see dataset-specific columns:

    text          the part of the input the model classifies and a counterfactual edits
    context       the part kept fixed ("" when the input has one part): e-SNLI's premise, HealthFC's evidence
    choices       label names, in label-index order
    label         index of the gold label
    input_name    what ``text`` is called in the prompt ("Review", "Hypothesis", "Claim")
    context_name  what ``context`` is called ("Premise", "Evidence"; "" without a context)
    label_name    what the label is called in the prompt ("Sentiment")
    task          the task in one sentence, for the instruction prompts (:mod:`qxbench.probes.prompts`)
    normalise     whether choices are compared by log-likelihood per character (lm-eval's ``acc_norm``)
    explanations  reference explanations (may be empty for cf_flip)
    insert_words  candidate words for the counterfactual-insertion faithfulness test

Real datasets (SST-2, AG News, e-SNLI, ECQA, HealthFC) get an adapter here (``ADAPTERS``); a dataset
missing a column the adapter reads, or a label outside its label set, stops with one line.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from qxbench.errors import QxError, unknown

Doc = dict[str, Any]

FIELDS = ("text", "context", "choices", "label", "input_name", "context_name", "label_name", "task", "normalise",
          "explanations", "insert_words")

# Adjectives and adverbs for the insertion test on real data: Atanasova et al. 2023 ("Faithfulness Tests
# for Natural Language Explanations", ACL, Sec. 3.1) insert random adjectives before nouns and adverbs
# before verbs; these are common, content-light ones (the test needs words that *could* change a label).
GENERIC_INSERT_WORDS = ("really", "truly", "suddenly", "often", "clearly", "certainly", "strange", "small", "old",
                        "new", "famous", "large", "recent", "simple", "modern", "certain")


def classify_prompt(doc: Mapping[str, Any], text: str | None = None) -> str:
    """The completion template (prompt set ``completion``): the embedded world's training format."""
    head = f"{doc['context_name']}: {doc['context']}\n" if doc.get("context") else ""
    return f"{head}{doc['input_name']}: {doc['text'] if text is None else text}\n{doc['label_name']}:"


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


def _label(value: Any, choices: Iterable[str]) -> int:
    """An integer label index (a CSV reads '2' as text); anything else is reported by ``check_doc``."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise QxError(f"label {value!r} is not an integer index into choices {list(choices)}")
    return int(value)


def _doc(text: str, choices: Iterable[str], label: Any, input_name: str, label_name: str, task: str, *,
         context: str = "", context_name: str = "", normalise: bool = True, explanations: Iterable[str] = (),
         insert_words: Iterable[str] = GENERIC_INSERT_WORDS) -> Doc:
    choices = list(choices)
    return {"text": str(text), "context": str(context), "choices": choices,
            "label": _label(label, choices), "input_name": input_name, "context_name": context_name,
            "label_name": label_name, "task": task, "normalise": normalise,
            "explanations": [e for e in explanations if e and str(e).strip()], "insert_words": list(insert_words)}


def world_review(row: Mapping[str, Any]) -> Doc:
    from qxbench.world.generate import LABELS, POLAR_PAIRS

    words = sorted({w for pair in POLAR_PAIRS for w in pair})
    return _doc(row["text"], LABELS, LABELS.index(row["label"]), "Review", "Sentiment",
                "Classify the sentiment of the travel review.", normalise=False, explanations=[row["explanation"]],
                insert_words=words)


def sst2(row: Mapping[str, Any]) -> Doc:
    return _doc(row["sentence"], ("negative", "positive"), row["label"], "Review", "Sentiment",
                "Classify the sentiment of the movie review.")


AG_NEWS_LABELS = ("world", "sports", "business", "science")


def ag_news(row: Mapping[str, Any]) -> Doc:
    return _doc(row["text"], AG_NEWS_LABELS, row["label"], "Article", "Topic",
                "Classify the topic of the news article.")


ESNLI_LABELS = ("entailment", "neutral", "contradiction")


def esnli(row: Mapping[str, Any]) -> Doc:
    """The hypothesis is the edited part, the premise stays fixed (as in e-SNLI counterfactual work)."""
    explanations = [row[k] for k in ("explanation_1", "explanation_2", "explanation_3") if k in row]
    return _doc(row["hypothesis"], ESNLI_LABELS, row["label"], "Hypothesis", "Relation",
                "Decide whether the premise entails the hypothesis, contradicts it, or neither (neutral).",
                context=row["premise"], context_name="Premise", explanations=explanations)


ECQA_OPTIONS = ("q_op1", "q_op2", "q_op3", "q_op4", "q_op5")


def ecqa(row: Mapping[str, Any]) -> Doc:
    """tasksource/ecqa: a CommonsenseQA question, five options, the answer text and a free-flow
    explanation (``taskB``). The labels are the options themselves, compared length-normalised."""
    options = [str(row[k]) for k in ECQA_OPTIONS]
    if row["q_ans"] not in options:
        raise QxError(f"Dataset 'tasksource/ecqa': answer {row['q_ans']!r} is not one of the options {options}")
    return _doc(str(row["q_text"]), options, options.index(row["q_ans"]), "Question", "Answer",
                "Answer the commonsense question with one of its options.", explanations=[row["taskB"]])


HEALTHFC_LABELS = ("supported", "not enough information", "refuted")


def healthfc(row: Mapping[str, Any]) -> Doc:
    """HealthFC (Vladika et al. 2024): a health claim, the evidence sentences the experts picked, their
    verdict (0 supported, 1 not enough information, 2 refuted) and explanation. The claim is edited,
    the evidence stays fixed."""
    return _doc(row["en_claim"], HEALTHFC_LABELS, row["label"], "Claim", "Verdict",
                "Decide whether the evidence supports the health claim, refutes it, or is not enough information.",
                context=row["en_top_sentences"], context_name="Evidence", explanations=[row["en_explanation"]])


# name -> (columns the adapter reads, adapter)
ADAPTERS: dict[str, tuple[tuple[str, ...], Callable[[Mapping[str, Any]], Doc]]] = {
    "world": (("text", "label", "explanation"), world_review),
    "sst2": (("sentence", "label"), sst2),
    "ag_news": (("text", "label"), ag_news),
    "esnli": (("premise", "hypothesis", "label", "explanation_1"), esnli),
    "ecqa": (("q_text", *ECQA_OPTIONS, "q_ans", "taskB"), ecqa),
    "healthfc": (("en_claim", "en_top_sentences", "en_explanation", "label"), healthfc),
}


def one_per_context(rows: list[Doc]) -> list[Doc]:
    """One row per fixed part (e-SNLI: one hypothesis per premise), in file order: of a premise's rows, the
    one at index crc32(premise) mod their number, so the kept labels are not always the file's first (the
    e-SNLI files list a premise's three hypotheses together, often in label order). Rows without a fixed
    part are all kept. Documents that share a premise are not independent: the paired intervals assume
    they are (issue 38, item 10)."""
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(r["context"], []).append(i)
    keep: set[int] = set()
    for ctx, ids in groups.items():
        keep.update([ids[zlib.crc32(ctx.encode()) % len(ids)]] if ctx else ids)
    return [r for i, r in enumerate(rows) if i in keep]


def normalise(dataset: Any, adapter: str, *, name: str | None = None, need_explanations: bool = False,
              drop_unexplained: bool = False, per_context: bool = False) -> Any:
    """Map a ``datasets.Dataset`` through an adapter; rows with an unlabelled gold (-1) are dropped,
    and with ``drop_unexplained`` rows without a reference explanation (HealthFC: 9 of its 750 claims
    have an empty ``en_explanation``; nle_sim_healthfc leaves them out, its README says so); with
    ``per_context`` one row per fixed part (:func:`one_per_context`)."""
    if adapter not in ADAPTERS:
        raise unknown("dataset adapter", adapter, ADAPTERS)
    columns, fn = ADAPTERS[adapter]
    label = name or adapter
    require_fields(dataset.column_names, columns, label)
    rows = []
    for r in dataset:
        if r.get("label", 0) in (-1, "-1"):
            continue
        try:
            rows.append(fn(r))
        except QxError as err:
            raise QxError(f"Dataset '{label}': {err}" if not str(err).startswith("Dataset") else str(err)) from None
    if drop_unexplained:
        rows = [r for r in rows if r["explanations"]]
    if per_context:
        rows = one_per_context(rows)
    if not rows:
        raise QxError(f"Dataset '{label}' has no labelled rows" + (" with an explanation" if drop_unexplained else ""))
    for row in rows:
        check_doc(row, label)
        if need_explanations and not row["explanations"]:
            raise QxError(f"Dataset '{label}': a row has no reference explanation (field 'explanations' is empty)")
    import datasets

    return datasets.Dataset.from_list(rows)
