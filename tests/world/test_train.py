import random

import torch

from qxbench.world.generate import WorldSpec
from qxbench.world.train import TrainSpec, build_tokenizer, pack, train


def test_pack_starts_every_window_at_a_document():
    docs = [[5, 6], [7, 8, 9], [10]]
    rows = pack(docs, window=6, eos=2, pad=0, rng=random.Random(0))
    flat = [tok for row in rows.tolist() for tok in row if tok != 0]
    assert sorted(flat) == sorted([5, 6, 2, 7, 8, 9, 2, 10, 2])
    assert all(row[0] in (5, 7, 10) for row in rows.tolist())


def test_tokenizer_round_trips_world_text():
    tok = build_tokenizer(["The capital of Rikia is Dunbre.", "Review: nice\nSentiment: positive"], 300)
    text = "The capital of Rikia is Dunbre."
    assert tok.decode(tok(text)["input_ids"]) == text


def test_training_is_deterministic(tmp_path):
    spec = TrainSpec(vocab_size=300, hidden_size=32, intermediate_size=64, num_layers=1, num_heads=2,
                     batch_size=4, steps=3, warmup=1, threads=1, window=256)
    small = WorldSpec(n_people=20, n_reviews_train=40, n_reviews_eval=10)
    a = train(tmp_path / "a", spec, small, log_every=0)
    b = train(tmp_path / "b", spec, small, log_every=0)
    from safetensors.torch import load_file

    wa, wb = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert a["final_loss"] == b["final_loss"]
