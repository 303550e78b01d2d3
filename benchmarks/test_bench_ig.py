"""neurons' integrated gradients at three layers: one call sharing the endpoint passes
(layer_integrated_gradients) against one call per layer, as benchmarks/speed/decode_ig.py measures on ten prompts."""

from __future__ import annotations

import pytest

from benchmarks.common import once


def _setup(model, tokenizer, prompt, n_targets):
    import torch

    from qxbench.probes import salient as sal
    from qxbench.probes.neurons import act_modules

    depth = model.config.num_hidden_layers
    layers = act_modules(model, [0, depth // 2, depth - 1])
    ids = tokenizer.encode(prompt, add_special_tokens=False)
    with torch.no_grad():
        token = int(model(torch.tensor([ids])).logits[0, -1].argmax())
    return layers, ids, sal.target_tokens(tokenizer, ids, token)[:n_targets] or [token]


@pytest.mark.parametrize("how", ["shared_endpoints", "per_layer"])
@pytest.mark.parametrize("which", ["tiny", "smollm2"])
def test_integrated_gradients(benchmark, request, which, how):
    from qxbench.probes import salient as sal

    model, tokenizer = request.getfixturevalue(which)
    prompt = request.getfixturevalue("facts")[0][0]
    layers, ids, targets = _setup(model, tokenizer, prompt, 2 if which == "tiny" else 1)
    rounds, warmup = (2, 1) if which == "tiny" else (1, 0)
    benchmark.group = f"integrated gradients {which} (3 layers, {len(targets)} target tokens, 50 steps)"
    if how == "shared_endpoints":
        got = once(benchmark, lambda: sal.layer_integrated_gradients(model, layers, ids, targets), rounds, warmup)
    else:
        got = once(benchmark, lambda: [sal.integrated_gradients(model, act, ids, targets, block=block)
                                       for block, act in layers], rounds, warmup)
    assert len(got) == 3 and all(g.shape[:2] == (len(targets), len(ids)) for g in got)
