import random

import pytest
import torch

from qxbench.models import EMBEDDED_MODEL_DIR
from qxbench.world.generate import WorldSpec, build_world, training_documents
from qxbench.world.train import TrainSpec, build_tokenizer, check_entity_tokens, entity_tokens, pack, train


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
    spec = TrainSpec(vocab_size=1024, hidden_size=32, intermediate_size=64, num_layers=1, num_heads=2,
                     batch_size=4, steps=3, warmup=1, threads=1, window=256)
    small = WorldSpec(n_people=20, n_reviews_train=40, n_reviews_eval=10)
    a = train(tmp_path / "a", spec, small, log_every=0)
    b = train(tmp_path / "b", spec, small, log_every=0)
    from safetensors.torch import load_file

    wa, wb = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert a["final_loss"] == b["final_loss"]


def test_embedded_model_gives_every_entity_a_first_token_of_its_own():
    from transformers import AutoTokenizer

    tok, world = AutoTokenizer.from_pretrained(EMBEDDED_MODEL_DIR), build_world()
    check_entity_tokens(tok, world)
    firsts = [ids[0] for ids in entity_tokens(tok, world).values()]
    assert len(firsts) == 24 + 24 + 8
    assert len(set(firsts)) == len(firsts)


def test_a_small_vocabulary_is_refused_naming_the_entities_that_share_a_token():
    world = build_world(WorldSpec(n_people=20, n_reviews_train=40, n_reviews_eval=10))
    with pytest.raises(ValueError, match=r"first token\(s\) do not belong to one entity .*raise vocab_size"):
        check_entity_tokens(build_tokenizer(training_documents(world), 300), world)
