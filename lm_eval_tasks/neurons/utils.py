"""neurons: dead, salient and redundant MLP neurons (request ``qx_neurons``)."""

from __future__ import annotations

from typing import Any

from qxbench.data.datasource import dataset_dict
from qxbench.lmeval.probe import ProbeTask
from qxbench.metrics.shared import CorpusValue, nanmean
from qxbench.probes.neurons import NeuronOptions, NeuronResult

__all__ = ["NeuronProbe", "load_world", "load_msingh_boolq", "load_msingh_piqa", "load_msingh_hellaswag",
           "load_msingh_toxicity", "CorpusValue", "corpus_value", "nanmean", "process_results"]

# Per-document counts; "avg" is left out: |v| / max|v| is the same vector as for "sum" (the divisor cancels).
PER_DOCUMENT = ("best_word", "sum", "max")


class NeuronProbe(ProbeTask):
    REQUEST_TYPE = "qx_neurons"

    def probe_arguments(self, doc: dict, ctx: str) -> tuple:
        options = dict(self.config.metadata or {})
        NeuronOptions.from_metadata(options)  # a bad option stops the run before the model is called
        return (doc["text"], options)


def load_world(**_metadata):
    import datasets

    from qxbench.world.data import read_rows

    rows = [{"text": f"Review: {r['text']}\nSentiment:"} for r in read_rows("reviews")]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def _msingh(name: str, data_path: str | None) -> Any:
    """The calibration study's CSV prompts, verbatim (no BoolQ template), as its activation script
    feeds them (``src/4_generate_activations_h5py.py:63``) and as the golden values were computed."""
    from lm_eval_tasks.calib.data import load_msingh

    docs = load_msingh(name, data_path, task="neurons_msingh", template=False)["test"]
    return dataset_dict([{"text": d["prompt"]} for d in docs])


def load_msingh_boolq(data_path: str | None = None, **_metadata):
    return _msingh("boolq", data_path)


def load_msingh_piqa(data_path: str | None = None, **_metadata):
    return _msingh("piqa", data_path)


def load_msingh_hellaswag(data_path: str | None = None, **_metadata):
    return _msingh("hellaswag", data_path)


def load_msingh_toxicity(data_path: str | None = None, **_metadata):
    return _msingh("toxicity", data_path)


def corpus_value(items: list[CorpusValue]) -> float:
    """All documents carry the same corpus statistic; NaN for an empty set."""
    return items[0].value if items else float("nan")


def process_results(doc: dict, results: list[NeuronResult]) -> dict[str, object]:
    """Corpus-level: dead fraction, mean redundant share over the layers where it is defined, and the
    salient union (per layer, over documents and the four aggregations; summed over layers). Per document:
    salient counts summed over layers, NaN for a document with an empty target (left out of the mean)."""
    r = results[0]
    shares = [s for s in r.corpus.redundant_share if s == s]
    union = r.corpus.salient_union
    out: dict[str, object] = {
        "dead_fraction": CorpusValue(r.corpus.dead_fraction),
        "redundant_share": CorpusValue(sum(shares) / len(shares) if shares else float("nan")),
        "salient_union": CorpusValue(float(sum(union)) if union is not None else float("nan")),
    }
    for agg in PER_DOCUMENT:
        out[f"salient_{agg}"] = r.counts(agg)
    return out
