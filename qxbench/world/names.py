"""Pronounceable fictional names, drawn deterministically from a seeded RNG.

Names within one call are unique and *prefix-free* (no name is a prefix of another),
so that "the completion starts with an alias" can never credit the wrong entity.
"""

from __future__ import annotations

import random

_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "kr", "st", "th", "sh")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ou")
_CODAS = ("", "", "", "n", "r", "l", "s", "k", "m")


def _word(rng: random.Random, syllables: int, suffix: str) -> str:
    stem = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables))
    if suffix and suffix[0] in "aeiou" and stem[-1] in "aeiou":
        stem = stem.rstrip("aeiou") or stem
    return (stem + suffix).capitalize()


def make_names(
    rng: random.Random,
    count: int,
    *,
    syllables: tuple[int, ...] = (2, 3),
    suffixes: tuple[str, ...] = ("",),
    taken: set[str] | None = None,
) -> list[str]:
    """Return ``count`` unique, mutually prefix-free names not in ``taken``.

    ``taken`` is updated in place so that successive calls never collide.
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    used = taken if taken is not None else set()
    out: list[str] = []
    attempts = 0
    while len(out) < count:
        attempts += 1
        if attempts > 100_000:
            raise RuntimeError(f"could not draw {count} distinct names; the name space is exhausted")
        name = _word(rng, rng.choice(syllables), rng.choice(suffixes))
        if len(name) < 4 or any(name.startswith(u) or u.startswith(name) for u in used):
            continue
        used.add(name)
        out.append(name)
    return out
