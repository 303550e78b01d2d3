"""The Protocols that state what the probes need from a model (qxbench.engine.lm): the qx model has every
member of the three, lm-eval's HFLM those of the first two, and a fake of the tests only what it declares."""

from __future__ import annotations

import pytest

from qxbench.engine.lm import GeneratingLM, ProbeLM, QxModel, ScoringLM


@pytest.fixture(scope="module")
def models(embedded_path):
    from lm_eval.models.huggingface import HFLM

    from qxbench.lmeval.adapter import QXLM

    return QXLM(device="cpu", batch_size=4), HFLM(pretrained=embedded_path, device="cpu", batch_size=4)


def test_the_qx_model_is_every_protocol(models):
    qx, _ = models
    missing = [p.__name__ for p in (ScoringLM, GeneratingLM, ProbeLM, QxModel) if not isinstance(qx, p)]
    assert not missing, f"QXLM lacks members of {missing}"


def test_any_hflm_is_what_the_explanation_probes_need_but_not_the_qx_model(models):
    _, hf = models
    assert isinstance(hf, ScoringLM) and isinstance(hf, GeneratingLM), "HFLM no longer has what the probes call"
    assert isinstance(hf, ProbeLM)
    assert not isinstance(hf, QxModel), "QxModel's members no longer say what only the qx model adds"


def test_a_fake_with_only_lm_eval_s_request_methods_scores_but_does_not_generate():
    class Scores:
        def loglikelihood(self, requests, disable_tqdm=False):
            return []

        def loglikelihood_rolling(self, requests, disable_tqdm=False):
            return []

        def tok_encode(self, string, **kwargs):
            return []

    assert isinstance(Scores(), ScoringLM)
    assert not isinstance(Scores(), GeneratingLM)
