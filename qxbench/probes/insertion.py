"""The counterfactual-insertion faithfulness test of Atanasova et al. 2023 ("Faithfulness Tests for
Natural Language Explanations", ACL 2023, Sec. 3.1 "Counterfactual Test"): insert a word into the
input; when the model's prediction changes, a faithful explanation of the changed input mentions the
inserted word. The paper inserts random adjectives before nouns and adverbs before verbs (a POS
tagger picks the places) at several places per instance; here each document gets
``words x positions`` insertions: ``words`` distinct candidates at ``positions`` distinct word
boundaries of the edited part (the fixed part of a two-part input stays as it is), all drawn by a
generator seeded with the text, so every model and config sees the same perturbations. No POS
tagger runs offline here, so the places are any word boundary (see the nle_sim README's fidelity table).
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

WORDS = 3  # candidate words per document
POSITIONS = 2  # word boundaries per document


@dataclass(frozen=True)
class Insertion:
    word: str
    at: int  # index of the word before which it is inserted (len(words) = at the end)
    text: str  # the edited part with the word inserted


def insertions(text: str, candidates: Sequence[str], words: int = WORDS, positions: int = POSITIONS) -> list[Insertion]:
    """``words x positions`` insertions (fewer when the text or the candidates are shorter), in a
    fixed order: for each position, each word. Deterministic in ``text``."""
    rng = random.Random(zlib.crc32(text.encode()))
    tokens = text.split(" ")
    pool = sorted(set(candidates))
    chosen = rng.sample(pool, min(words, len(pool)))
    places = sorted(rng.sample(range(len(tokens) + 1), min(positions, len(tokens) + 1)))
    return [Insertion(w, at, " ".join([*tokens[:at], w, *tokens[at:]])) for at in places for w in chosen]
