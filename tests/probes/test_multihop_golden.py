"""multihop against google-deepmind/latent-multi-hop-reasoning's own outputs on SmolLM2
(../shared/golden/multihop.json): EntRec per layer, CnstScore, the bridge entity's first token."""

from __future__ import annotations

import pytest
from lm_eval.api.instance import Instance

from tests.conftest import golden

pytestmark = pytest.mark.real
TOL = 1e-4  # ../shared/golden/README.md: scores at |d| < 1e-4


@pytest.fixture(scope="module")
def lm(smollm2_dir):
    from qxbench.lmeval.adapter import QXLM

    return QXLM(pretrained="smollm2-135m", device="cpu", batch_size=4, reference="none")


@pytest.fixture(scope="module")
def rows():
    return golden("multihop")["rows"]


def test_entrec_and_cnstscore_equal_the_reference(lm, rows):
    results = lm.qx_multihop([Instance("qx_multihop", {}, (r["r2(r1(e1)).prompt"], r), 0) for r in rows])
    for r, res in zip(rows, results, strict=True):
        ref = r["reference_outputs"]
        assert lm._ids(r["r2(r1(e1)).subject_cut.prompt"]) == ref["cut_prompt_token_ids"]
        assert len(res.entrec) == 30  # index i = output of block i, as the reference
        assert res.entrec == pytest.approx(ref["entrec_per_layer"], abs=TOL)
        assert res.cnst == pytest.approx(ref["cnstscore"], abs=TOL)


def test_bridge_token_is_the_entity_tokenized_alone_even_after_trailing_whitespace(lm, rows):
    """A subject-cut prompt ending in a space must not make the bridge token a bare space."""
    for r in rows:
        expected = r["reference_outputs"]["bridge_first_token_id"]
        cut = r["r2(r1(e1)).subject_cut.prompt"]
        assert lm._first_token(cut, r["e2.value"]) == expected
        assert lm._first_token(cut + " ", r["e2.value"]) == expected
        assert lm.tokenizer.decode([expected]).strip()  # a real word piece, not whitespace
