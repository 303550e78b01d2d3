"""How a model's forward is called (qxbench.engine.forward): the one ``logits_to_keep`` check and the rows per
batch."""

from __future__ import annotations

import torch

from qxbench.engine.forward import accepts_logits_to_keep, rows_per_batch


def test_accepts_logits_to_keep_reads_the_forward_signature(tiny_llama):
    class Plain(torch.nn.Module):
        def forward(self, input_ids):  # noqa: ANN001
            return input_ids

    assert accepts_logits_to_keep(tiny_llama)
    assert not accepts_logits_to_keep(Plain())


def test_rows_per_batch_reads_a_positive_whole_batch_size_else_8():
    class LM:
        def __init__(self, size):  # noqa: ANN001
            self.batch_size = size

    assert [rows_per_batch(LM(s)) for s in (16, "4", "auto", 0, "-2", "1.5")] == [16, 4, 8, 8, 8, 8]
    assert rows_per_batch(object()) == 8
