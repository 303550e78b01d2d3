"""EntRec and CnstScore against a by-hand computation and a hand-made case."""

from __future__ import annotations

import math

import pytest
import torch

from qxbench.probes.multihop import cnst_score, cross_entropy, probe
from tests.reference_pass import lens_logprob, manual_llama

CUT = [[1, 5, 9, 3], [4, 4, 8, 20, 21]]
TWO = [[1, 5, 9, 3, 7, 2], [4, 4, 8, 20, 21, 13]]
ONE = [[30, 31, 2], [6, 6, 6, 1, 9, 12, 14]]
BRIDGE = [17, 3]


def test_cross_entropy_and_cnst_score_on_a_hand_made_case():
    p, q = torch.tensor([0.5, 0.5]), torch.tensor([0.9, 0.1])
    h_pq = -(0.5 * math.log(0.9) + 0.5 * math.log(0.1))
    h_qp = -(0.9 * math.log(0.5) + 0.1 * math.log(0.5))
    assert float(cross_entropy(p.log(), q.log())) == pytest.approx(h_pq)
    assert float(cnst_score(p.log(), q.log())) == pytest.approx(-0.5 * (h_pq + h_qp))
    assert float(cnst_score(p.log(), p.log())) == pytest.approx(-math.log(2))  # identical: minus the entropy


def test_probe_matches_a_manual_forward_layer_by_layer(tiny_llama):
    got = probe(tiny_llama, CUT, TWO, ONE, BRIDGE)
    for i, result in enumerate(got):
        cut = manual_llama(tiny_llama, CUT[i])
        expected = [lens_logprob(tiny_llama, h, BRIDGE[i]) for h in cut["resid_out"]]
        assert result.entrec == pytest.approx(expected, abs=1e-5)
        p1 = torch.log_softmax(manual_llama(tiny_llama, TWO[i])["logits"], -1)
        p2 = torch.log_softmax(manual_llama(tiny_llama, ONE[i])["logits"], -1)
        h12 = -sum(float(a.exp() * b) for a, b in zip(p1, p2, strict=True))
        h21 = -sum(float(b.exp() * a) for a, b in zip(p1, p2, strict=True))
        assert result.cnst == pytest.approx(-0.5 * (h12 + h21), abs=1e-5)


def test_batch_size_does_not_change_the_probe(tiny_llama):
    together = probe(tiny_llama, CUT, TWO, ONE, BRIDGE)
    alone = [probe(tiny_llama, [c], [t], [o], [b])[0] for c, t, o, b in zip(CUT, TWO, ONE, BRIDGE, strict=True)]
    for a, b in zip(together, alone, strict=True):
        assert a.entrec == pytest.approx(b.entrec, abs=1e-5)
        assert a.cnst == pytest.approx(b.cnst, abs=1e-5)
