"""The neurons probe's corpus statistics over data-parallel shards: each rank's tokens placed in the whole
evaluated set, the ranks' partial statistics combined; in one process both are the identity. A second rank
is stood in for by a gather that returns its part beside this rank's."""

from __future__ import annotations

import torch

from qxbench import distributed
from qxbench.probes import shards


def _beside(monkeypatch, other) -> None:
    """``distributed.all_gather`` as rank 0 of two sees it, rank 1 holding ``other``."""
    monkeypatch.setattr(distributed, "all_gather", lambda mine: [mine, other])


def test_layout_places_each_text_in_document_order():
    texts = [[1, 2, 3], [4], [5, 6]]
    assert shards.layout(texts, None) == ([0, 3, 4], 6)
    # keys are lm-eval document ids: a shard's texts land where they stand in the whole set
    assert shards.layout([[5, 6], [1, 2, 3]], [7, 2]) == ([3, 0], 5)


def test_a_shard_s_texts_start_where_they_stand_among_every_rank_s(monkeypatch):
    _beside(monkeypatch, [(1, 4), (3, 1)])  # rank 1: documents 1 (4 tokens) and 3 (1 token)
    starts, total = shards.layout([[9, 9, 9], [8, 8]], [0, 2])  # this rank: documents 0 and 2
    assert starts == [0, 7], "document 2 does not start after documents 0 and 1 (3 + 4 tokens)"
    assert total == 10, "the set's size is not every rank's tokens together"


def test_merge_in_one_process_is_its_own_statistics():
    peak = [torch.tensor([1.0, 5.0]), None]
    rows = [[torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 4.0]])], []]
    max_abs, merged = shards.merge(peak, [torch.tensor([0]), torch.tensor([6])], rows)
    assert torch.equal(max_abs[0], peak[0])
    assert max_abs[1].numel() == 0, "a layer that saw no token counts neurons"
    assert torch.equal(merged[0], torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert merged[1] is None


def test_merge_takes_every_rank_s_maxima_and_puts_the_sampled_rows_in_token_order(monkeypatch):
    # rank 1: layer 0's maxima, layer 1's (this rank saw none), no layer-2 token; one sampled token, at place 2
    _beside(monkeypatch, ([torch.tensor([3.0, 2.0]), torch.tensor([4.0]), None], torch.tensor([2]),
                          [torch.tensor([[0.0, 2.0]]), None, None]))
    peak = [torch.tensor([1.0, 5.0]), None, None]
    rows = [[torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, 4.0]])], [], []]
    max_abs, merged = shards.merge(peak, [torch.tensor([0]), torch.tensor([4])], rows)
    assert torch.equal(max_abs[0], torch.tensor([3.0, 5.0])), "the maxima are not the elementwise maximum"
    assert torch.equal(max_abs[1], torch.tensor([4.0])), "another rank's maxima are lost where this one saw none"
    assert max_abs[2].numel() == 0
    assert torch.equal(merged[0], torch.tensor([[0.0, 0.0], [0.0, 2.0], [0.0, 4.0]])), "rows not in token order"
    assert merged[1] is None
