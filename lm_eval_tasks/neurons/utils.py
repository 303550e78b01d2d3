"""neurons: dead, salient and redundant MLP neurons (request ``qx_neurons``)."""

from __future__ import annotations

from qxbench.probe import ProbeTask
from qxbench.probes.metrics import CorpusValue
from qxbench.probes.neurons import AGGREGATIONS, NeuronOptions, NeuronResult

__all__ = ["NeuronProbe", "load_world", "CorpusValue", "corpus_value", "process_results"]


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


def corpus_value(items: list[CorpusValue]) -> float:
    """All documents carry the same corpus statistic; NaN for an empty set."""
    return items[0].value if items else float("nan")


def process_results(doc: dict, results: list[NeuronResult]) -> dict[str, object]:
    r = results[0]
    shares = [s for s in r.corpus.redundant_share if s == s]
    out: dict[str, object] = {
        "dead_fraction": CorpusValue(r.corpus.dead_fraction),
        "redundant_share": CorpusValue(sum(shares) / len(shares) if shares else float("nan")),
    }
    for agg in AGGREGATIONS:
        out[f"salient_{agg}"] = float(sum(r.salient[agg]))
    return out
