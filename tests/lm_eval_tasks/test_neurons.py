"""neurons: corpus-level values, per-document salient counts, options from --metadata."""

from __future__ import annotations

import math

import pytest
import torch

from lm_eval_tasks.neurons.utils import corpus_value, nanmean, process_results
from qxbench.errors import QxError
from qxbench.metrics.shared import CorpusValue
from qxbench.probes.logged import plain, read_result
from qxbench.probes.neurons import CorpusStats, NeuronResult
from qxbench.probes.salient import Salient

from .conftest import evaluate


def _salient(best: tuple[int, ...], total: tuple[int, ...], peak: tuple[int, ...]) -> Salient:
    neurons = {"best_word": best, "sum": total, "avg": total, "max": peak}
    return Salient(neurons, {k: tuple(1.0 for _ in v) for k, v in neurons.items()}, keys=3, best_key=0)


def test_corpus_values_are_not_per_document_numbers():
    stats = CorpusStats(layers=[0, 3], max_abs=[torch.tensor([0.05] + [1.0] * 9), torch.tensor([0.0] * 3 + [1.0] * 7)],
                        dead_threshold=0.1, tokens=50, redundancy_hist=[[0] * 10] * 2,
                        redundant_share=[0.5, float("nan")], salient_union=[3, 1])
    doc = NeuronResult((5,), (_salient((1,), (1, 2), (2,)), _salient((7,), (7,), (7, 8))), stats, {})
    out = process_results({}, [doc])
    assert out["salient_best_word"] == 2.0
    assert out["salient_sum"] == 3.0
    assert out["salient_max"] == 3.0
    assert "salient_avg" not in out  # the same set as salient_sum on every document
    assert corpus_value([out["dead_fraction"]]) == pytest.approx(4 / 20)
    assert corpus_value([out["redundant_share"]]) == 0.5  # the undefined layer is left out
    assert corpus_value([out["salient_union"]]) == 4.0  # union sizes summed over the layers
    assert str(out["dead_fraction"]).startswith("corpus:")  # logged as text: the leaderboard gives no CI
    assert corpus_value([]) != corpus_value([])  # NaN for no documents
    assert isinstance(out["dead_fraction"], CorpusValue)
    assert isinstance(out["salient_union"], CorpusValue)

    empty = process_results({}, [NeuronResult((), None, stats, {})])  # an empty target: nothing attributed
    assert math.isnan(empty["salient_sum"])
    assert nanmean([out["salient_sum"], empty["salient_sum"]]) == 3.0  # left out of the mean


@pytest.mark.slow
def test_end_to_end_with_options(qx_lm):
    metadata = {"ig_steps": 4, "layers": "first,last", "token_keys": "string"}
    out = evaluate(qx_lm, ["neurons"], limit=4, metadata=metadata, log_samples=True)
    res = out["results"]["neurons"]
    assert 0 <= res["dead_fraction,none"] <= 1
    assert 0 <= res["redundant_share,none"] <= 1
    assert res["salient_union,none"] >= 2  # at least one salient neuron in each of the two layers
    assert res["salient_sum,none"] >= 2
    assert res["salient_best_word,none"] >= 2
    assert {"salient_top,none", "salient_mean,none"}.isdisjoint(res)
    # the options that change a definition are on record: in the task config and in every logged sample
    assert {k: out["configs"]["neurons"]["metadata"][k] for k in metadata} == metadata
    logged = plain(read_result(str(out["samples"]["neurons"][0]["resps"][0][0])))
    assert logged["options"] == metadata
    assert logged["target"]
    assert set(logged["salient"]) == {"0", "3"}


def test_a_mistyped_option_stops_the_run(qx_lm):
    with pytest.raises(QxError, match="Did you mean 'ig_steps'"):
        evaluate(qx_lm, ["neurons"], limit=2, metadata={"ig_step": 4})


def test_requests_with_different_options_are_answered_group_by_group(qx_lm):
    from lm_eval.api.instance import Instance

    texts = ["Review: fine\nSentiment:", "Review: bad\nSentiment:", "Review: good\nSentiment:"]
    options = [{"layers": layer, "ig_steps": 2} for layer in ("first", "last", "first")]
    results = qx_lm.qx_neurons([Instance("qx_neurons", {}, (t, o), i)
                                for i, (t, o) in enumerate(zip(texts, options, strict=True))])
    assert [r.corpus.layers for r in results] == [[0], [3], [0]]
    assert results[0].corpus is results[2].corpus
    assert results[0].corpus is not results[1].corpus


def test_the_study_variants_read_its_csv_prompts_verbatim():
    from lm_eval_tasks.neurons import utils
    from tests.conftest import golden, shared_path

    folder = shared_path("data", "msingh")
    docs = golden("neurons")["docs"]  # the texts the reference was run on: no "Respond with True or False"
    for name in sorted({d["dataset"] for d in docs}):
        loaded = getattr(utils, f"load_msingh_{name}")(data_path=str(folder))["test"]
        assert all(loaded[d["row"]]["text"] == d["text"] for d in docs if d["dataset"] == name)


def test_a_study_variant_without_data_path_names_the_option():
    from lm_eval_tasks.neurons.utils import load_msingh_piqa

    with pytest.raises(QxError, match=r"neurons_msingh_piqa reads the study's CSV .*data_path"):
        load_msingh_piqa()
