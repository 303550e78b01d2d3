"""memorize's attribution per fact: the exact bounded search against scoring every neuron (dense), the
speed-up benchmarks/checks/fidelity_memorize_multihop.py measures at length (and checks equal)."""

from __future__ import annotations

import pytest

from benchmarks.common import once

FACTS = 4  # one batch of the embedded world's facts (qx-tiny); SmolLM2: 4, bounded only (dense ~30 s a fact)


def _batch(tokenizer, facts, n):
    prompts = [tokenizer(p)["input_ids"] for p, _ in facts[:n]]
    gold = [tokenizer(" " + o, add_special_tokens=False)["input_ids"][0] for _, o in facts[:n]]
    return prompts, gold


@pytest.mark.benchmark(group="memorize qx-tiny (4 facts, one batch)")
@pytest.mark.parametrize("method", ["bounded", "dense"])
def test_memorize_qx_tiny(benchmark, tiny, facts, method):
    from qxbench.probes.attribution import AttributionOptions, attribute

    model, tokenizer = tiny
    prompts, gold = _batch(tokenizer, facts, FACTS)
    got = once(benchmark, lambda: attribute(model, prompts, gold, AttributionOptions(method=method)), rounds=3)
    benchmark.extra_info.update(facts=FACTS, neurons_scored_mean=sum(a.scored for a in got) / len(got))
    assert len(got) == FACTS and all(len(a.top) for a in got)


@pytest.mark.benchmark(group="memorize SmolLM2 (4 facts, one batch)")
def test_memorize_smollm2_bounded(benchmark, smollm2, facts):
    from qxbench.probes.attribution import attribute

    model, tokenizer = smollm2
    prompts, gold = _batch(tokenizer, facts, 4)
    got = once(benchmark, lambda: attribute(model, prompts, gold), rounds=2, warmup=0)
    benchmark.extra_info.update(facts=4, neurons_scored_mean=sum(a.scored for a in got) / len(got))
    assert len(got) == 4
