import json
from dataclasses import replace

import pytest

from qxbench.errors import QxError
from qxbench.world.data import DATA_DIR, FILES, eval_rows, load_dataset, read_rows
from qxbench.world.generate import LABELS, POLAR_PAIRS, WorldSpec, build_world, review_docs, training_documents


@pytest.fixture(scope="module")
def world():
    return build_world()


def test_world_is_deterministic(world):
    assert build_world() == world
    assert build_world(replace(WorldSpec(), seed=1)) != world


def test_shipped_eval_files_match_the_generator(world):
    """The packaged data is exactly what `qxbench world build` writes (no hand edits)."""
    for name, rows in eval_rows(world).items():
        shipped = (DATA_DIR / FILES[name]).read_text().splitlines()
        assert shipped == [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in rows]


def test_two_hop_chains_follow_the_one_hop_facts(world):
    born = world.facts_of("birthplace")
    capital = world.facts_of("capital")
    for t in world.twohops:
        assert born[t.e1].object == t.e2
        assert t.prompt.startswith(t.subject_cut_prompt)
        assert t.subject_cut_prompt.endswith(t.e1)
        if t.r2 == "capital":
            assert capital[t.e2].object == t.e3
    held = {t.e1 for t in world.twohops if t.split == "eval"}
    assert held
    assert held.isdisjoint({t.e1 for t in world.twohops if t.split == "train"})


def test_twohop_rows_use_the_twohopfact_schema(world):
    row = world.twohops[0].row()
    for key in ("r1(e1).prompt", "r2(e2).prompt", "r2(r1(e1)).prompt", "r2(r1(e1)).subject_cut.prompt",
                "e2.value", "e2.aliases", "e3.value", "e3.aliases"):
        assert key in row


def test_counterfactuals_swap_only_polar_words_and_flip_the_label(world):
    antonym = {p: n for p, n in POLAR_PAIRS} | {n: p for p, n in POLAR_PAIRS}
    for r in world.reviews[:300]:
        a, b = r.text.split(), r.counterfactual.split()
        changed = [(x, y) for x, y in zip(a, b, strict=False) if x != y]
        assert len(a) == len(b)
        assert len(changed) == len(r.polar_words)
        assert all(antonym[x.rstrip(".")] == y.rstrip(".") for x, y in changed)
        assert {r.label, r.cf_label} == set(LABELS)


def test_eval_reviews_use_only_held_out_combinations(world):
    train_texts = {r.text for r in world.reviews if r.split == "train"}
    evals = [r for r in world.reviews if r.split == "eval"]
    assert len(evals) == world.spec.n_reviews_eval
    assert not train_texts & {r.text for r in evals}
    for r in evals:
        for word in r.polar_words:
            pair = next(i for i, p in enumerate(POLAR_PAIRS) if word in p)
            aspects = [a for a, i in world.heldout_combos if i == pair]
            assert any(f"The {a} " in r.text for a in aspects)


def test_training_corpus_never_states_held_out_two_hops(world):
    corpus = "\n".join(training_documents(world))
    for t in world.twohops:
        assert (t.prompt in corpus) == (t.split == "train")
    assert all(r.text not in corpus for r in world.reviews if r.split == "eval")


def test_review_docs_formats(world):
    docs = review_docs(world.reviews[0])
    assert docs["classify"].endswith(f"Sentiment: {world.reviews[0].label}")
    assert "\nExplanation: " in docs["explain"]
    assert "\nRewrite as " in docs["rewrite"]


def test_load_dataset_filters_split_and_rejects_unknown_files():
    ds = load_dataset("twohop", split="eval")
    assert set(ds) == {"test"}
    assert all(r == "eval" for r in ds["test"]["split"])
    with pytest.raises(QxError, match="Unknown world file 'fact'"):
        read_rows("fact")
