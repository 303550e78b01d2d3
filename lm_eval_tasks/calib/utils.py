"""calib: confidence of one-token answers (request ``qx_next_token``) and calibration metrics.

Definitions (reference lines included): :mod:`qxbench.probes.nexttoken` (the answer, its confidence,
its correctness; options ``mode``, ``match``, ``softmax_dtype``), ``metrics.py`` (ACE, ECE, Brier),
``data.py`` (documents ``{"prompt", "answer", "choices", "index"}``, the study's CSVs, the Hub).
"""

from __future__ import annotations

from collections.abc import Sequence

from lm_eval_tasks.calib.data import dataset_dict, load_hub, load_msingh
from lm_eval_tasks.calib.metrics import ace, brier, ece
from qxbench.data.classify import require_fields
from qxbench.errors import QxError
from qxbench.lmeval.probe import ProbeTask
from qxbench.probes.nexttoken import NextTokenOptions
from qxbench.probes.results import NextToken

__all__ = ["NextTokenProbe", "load_world", "load_msingh_boolq", "load_msingh_piqa", "load_msingh_hellaswag",
           "load_msingh_toxicity", "load_boolq", "load_piqa", "load_hellaswag", "boolq_docs", "piqa_docs",
           "hellaswag_docs", "ace", "ece", "brier", "process_results"]

LETTERS = "ABCDEFGH"


class NextTokenProbe(ProbeTask):
    REQUEST_TYPE = "qx_next_token"

    def probe_arguments(self, doc: dict, ctx: str) -> tuple:
        options = dict(self.config.metadata or {})
        opts = NextTokenOptions.from_metadata(options)  # a bad option stops the run before the model is called
        if opts.mode == "choices" and len(doc["choices"]) < 2:
            raise QxError(f"{self.config.task} with mode=choices needs an answer set, but document {doc['index']} "
                          f"({doc['prompt'][:40]!r}) has choices {list(doc['choices'])}; use mode=free")
        return (doc["prompt"], doc["answer"], list(doc["choices"]), options)


# -- data: the embedded world, the study's CSVs, the Hub ---------------------------------------------
def load_world(**_metadata):
    from qxbench.world.data import read_rows

    reviews = read_rows("reviews")
    labels = sorted({r["label"] for r in reviews})
    rows = [{"prompt": f"Review: {r['text']}\nSentiment:", "answer": r["label"], "choices": labels}
            for r in reviews]
    rows += [{"prompt": f["prompt"], "answer": f["object"], "choices": []} for f in read_rows("facts")]
    return dataset_dict([{**r, "index": i} for i, r in enumerate(rows)])


def load_msingh_boolq(data_path: str | None = None, **_metadata):
    return load_msingh("boolq", data_path)


def load_msingh_piqa(data_path: str | None = None, **_metadata):
    return load_msingh("piqa", data_path)


def load_msingh_hellaswag(data_path: str | None = None, **_metadata):
    return load_msingh("hellaswag", data_path)


def load_msingh_toxicity(data_path: str | None = None, **_metadata):
    return load_msingh("toxicity", data_path)


def load_boolq(data_path: str | None = None, **_metadata):
    return load_hub("google/boolq", "validation", "boolq", data_path,
                    columns={"question": str, "passage": str, "answer": object})


def load_piqa(data_path: str | None = None, **_metadata):
    return load_hub("baber/piqa", "validation", "piqa", data_path,
                    columns={"goal": str, "sol1": str, "sol2": str, "label": int})


def load_hellaswag(data_path: str | None = None, **_metadata):
    return load_hub("Rowan/hellaswag", "validation", "hellaswag", data_path,
                    columns={"ctx": str, "endings": object, "label": object})


def _choices(options: Sequence[str]) -> str:
    return "".join(f"\n{LETTERS[i]}. {o}" for i, o in enumerate(options))


def _true(value: object) -> bool:
    """BoolQ's ``answer``: a bool on the Hub, a string in a local CSV copy."""
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def boolq_docs(dataset):
    require_fields(dataset.column_names, ("question", "passage", "answer"), "google/boolq")
    return dataset.map(lambda r, i: {"prompt": f"{r['passage']}\nQuestion: {r['question']}?\nAnswer:",
                                     "answer": "yes" if _true(r["answer"]) else "no", "choices": ["yes", "no"],
                                     "index": i}, with_indices=True, remove_columns=dataset.column_names)


def piqa_docs(dataset):
    require_fields(dataset.column_names, ("goal", "sol1", "sol2", "label"), "baber/piqa")
    return dataset.map(lambda r, i: {"prompt": f"Question: {r['goal']}{_choices([r['sol1'], r['sol2']])}\nAnswer:",
                                     "answer": LETTERS[int(r["label"])], "choices": ["A", "B"], "index": i},
                       with_indices=True, remove_columns=dataset.column_names)


def hellaswag_docs(dataset):
    require_fields(dataset.column_names, ("ctx", "endings", "label"), "Rowan/hellaswag")
    labelled = dataset.filter(lambda r: str(r["label"]).strip() != "")
    if len(labelled) == 0:
        raise QxError("Dataset 'Rowan/hellaswag' has no labelled rows in this split (field 'label' is empty)")
    for i, row in enumerate(labelled):  # "1.7" or "2" of three endings: refused, never truncated or wrapped
        label = str(row["label"]).strip()
        if not label.isdigit() or int(label) >= len(row["endings"]):
            raise QxError(f"hellaswag row {i + 1}: label {row['label']!r} is not the index of one of its "
                          f"{len(row['endings'])} endings")
    return labelled.map(lambda r, i: {"prompt": f"{r['ctx']}{_choices(r['endings'])}\nAnswer:",
                                      "answer": LETTERS[int(r["label"])],
                                      "choices": list(LETTERS[:len(r["endings"])]), "index": i},
                        with_indices=True, remove_columns=dataset.column_names)


# -- per document -------------------------------------------------------------------------------
def process_results(doc: dict, results: list[NextToken]) -> dict[str, object]:
    """ACE and ECE are corpus-level: each document hands them (confidence, correct, its position)."""
    r = results[0]
    item = (r.confidence, float(r.correct), doc["index"])
    return {"acc": float(r.correct), "ace": item, "ece": item, "brier": brier(r.confidence, r.correct),
            "confidence": r.confidence}
