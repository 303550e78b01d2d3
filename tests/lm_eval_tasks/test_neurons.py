"""neurons: corpus-level values, per-document salient counts, options from --metadata."""

from __future__ import annotations

import pytest

from lm_eval_tasks.neurons.utils import corpus_value, process_results
from qxbench.errors import QxError
from qxbench.probes.metrics import CorpusValue
from qxbench.probes.neurons import CorpusStats, NeuronResult

from .conftest import evaluate


def test_corpus_values_are_not_per_document_numbers():
    stats = CorpusStats(layers=[0, 3], neurons=[10, 10], dead=[1, 3], tokens=50, redundancy_hist=[[0] * 10] * 2,
                        redundant_share=[0.5, float("nan")])
    out = process_results({}, [NeuronResult({"top": [1, 2], "sum": [0, 1], "mean": [0, 1], "max": [3, 3]}, stats)])
    assert out["salient_top"] == 3.0 and out["salient_max"] == 6.0
    assert corpus_value([out["dead_fraction"]]) == pytest.approx(0.2)
    assert corpus_value([out["redundant_share"]]) == 0.5  # the undefined layer is left out
    assert str(out["dead_fraction"]).startswith("corpus:")  # logged as text: the leaderboard gives no CI
    assert corpus_value([]) != corpus_value([])  # NaN for no documents
    assert isinstance(out["dead_fraction"], CorpusValue)


def test_end_to_end_with_options(qx_lm):
    out = evaluate(qx_lm, ["neurons"], limit=6, metadata={"ig_steps": 4, "layers": "first,last"})
    res = out["results"]["neurons"]
    assert 0 <= res["dead_fraction,none"] <= 1 and 0 <= res["redundant_share,none"] <= 1
    assert res["salient_top,none"] >= 2  # at least one salient neuron in each of the two layers


def test_a_mistyped_option_stops_the_run(qx_lm):
    with pytest.raises(QxError, match="Did you mean 'ig_steps'"):
        evaluate(qx_lm, ["neurons"], limit=2, metadata={"ig_step": 4})
