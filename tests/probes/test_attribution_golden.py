"""memorize against zepingyu0512/neuron-attribution's own outputs on SmolLM2 (../shared/golden/memorize.json)."""

from __future__ import annotations

import time

import pytest

from qxbench.probes.attribution import AttributionOptions, attribute
from tests.conftest import golden

from .conftest import assert_same_top

pytestmark = pytest.mark.real
TOL = 1e-4  # ../shared/golden/README.md: scores at |d| < 1e-4


@pytest.fixture(scope="module")
def rows():
    return golden("memorize")["rows"]


@pytest.fixture(scope="module")
def attributions(smollm2, rows):
    model, _ = smollm2
    return attribute(model, [r["prompt_token_ids"] for r in rows],
                     [r["reference_outputs"]["gold_first_token_id"] for r in rows])


def test_prompts_tokenize_as_the_reference(smollm2, rows):
    _, tok = smollm2
    for r in rows:
        assert tok(r["prompt"])["input_ids"] == r["prompt_token_ids"]
        assert tok(" " + r["object"], add_special_tokens=False)["input_ids"][0] == \
            r["reference_outputs"]["gold_first_token_id"]


def test_layer_scores_target_and_top300_equal_the_reference(attributions, rows):
    for r, a in zip(rows, attributions, strict=True):
        ref = r["reference_outputs"]
        assert a.target == ref["target_token_id"]  # the model's top prediction, as the notebook
        assert a.gold == ref["gold_first_token_id"]
        assert a.attn_imp == pytest.approx(ref["attn_log_increase_per_layer"], abs=TOL)
        assert a.ffn_imp == pytest.approx(ref["ffn_log_increase_per_layer"], abs=TOL)
        assert_same_top(a.top, ref["top300_ffn_neurons"], TOL)
        assert a.tau == pytest.approx(ref["tau_300th_score"], abs=TOL)
        assert a.at_tau == ref["n_neurons_with_score_ge_tau"]


def test_bounded_search_equals_every_neuron_on_the_real_model(smollm2, rows, attributions):
    """One fact scored densely (all 46,080 neurons x 49,152 tokens) against the bounded search."""
    model, _ = smollm2
    r = rows[0]
    start = time.perf_counter()
    (dense,) = attribute(model, [r["prompt_token_ids"]], [0], AttributionOptions(method="dense"))
    dense_s = time.perf_counter() - start
    assert dense.scored == 30 * 1536
    assert attributions[0].scored < dense.scored / 20
    # the dense products (256 neurons a row block) round differently from the bounded ones: 1.05e-5 measured
    # on one neuron (same value from the code before Gemma support), so 2e-5
    assert_same_top(attributions[0].top, dense.top, 2e-5)
    assert attributions[0].at_tau == dense.at_tau
    print(f"dense {dense_s:.1f} s for one fact")
