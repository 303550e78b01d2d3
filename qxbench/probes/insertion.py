"""The counterfactual-insertion faithfulness test of Atanasova et al. 2023 ("Faithfulness Tests for
Natural Language Explanations", ACL 2023, Sec. 3.1 "Counterfactual Test"): insert a word into the
input; when the model's prediction changes, a faithful explanation of the changed input mentions the
inserted word. As in the paper, random adjectives go before nouns and adverbs before verbs, a
part-of-speech tagger picking the places, several per document.

Here the tagger is pattern's English Brill tagger as TextBlob ships it (``textblob==0.20.1``,
``textblob.en.tag``: its lexicon is inside the wheel, so it runs offline; pinned in pyproject). Each
document gets up to ``positions`` places (words tagged ``NN``/``NNS`` take an adjective, words tagged
``VB*`` an adverb; only places for which a candidate of that part of speech exists), and at each place
up to ``words`` of the candidates (a candidate's part of speech is the tag the tagger gives it alone:
``JJ*`` adjective, ``RB*`` adverb; others are never inserted). Places and words are drawn by a generator
seeded with the text, so every model and config sees the same perturbations. The fixed part of a
two-part input is never edited.

:func:`mentions_outside_copy`: the paper counts an explanation faithful when it mentions the inserted
word; an explanation that only quotes the perturbed input ("... at the quite store ...") mentions it
by copying, so here an occurrence counts only where no run of three words around it appears in the
perturbed input.
"""

from __future__ import annotations

import functools
import random
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from qxbench.errors import QxError

WORDS = 3  # candidate words per place
POSITIONS = 2  # places per document
NOUNS = ("NN", "NNS")  # an adjective goes before these (not proper nouns: "the famous Venezuela")
WH = ("WP", "WRB", "WDT", "WP$")  # a verb right after one of these is a question's auxiliary
_EDGES = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)
_WORD = re.compile(r"[\w']+")


@dataclass(frozen=True)
class Insertion:
    word: str
    at: int  # index of the word before which it is inserted (len(words) = at the end)
    text: str  # the edited part with the word inserted


def _tagger():  # noqa: ANN202
    try:
        from textblob.en import tag
    except ImportError as err:  # a core dependency: only a broken install gets here
        raise QxError(f"nle_sim's insertion test needs the part-of-speech tagger textblob==0.20.1 ({err}): "
                      "pip install textblob==0.20.1") from None
    return tag


def tags(text: str) -> list[str]:
    """The part-of-speech tag (Penn Treebank) of each space-separated word of ``text``: its core, without
    leading and trailing punctuation, tagged in the sentence (punctuation is its own token, so the tagger
    sees the sentence as written; a line break inside a word splits it for the tagger, and the word takes
    the tag of its first piece); "" for a word with no letters or digits."""
    parts = [_EDGES.match(w).groups() for w in text.split(" ")]  # type: ignore[union-attr]
    pieces = [(lead.split(), core.split(), trail.split()) for lead, core, trail in parts]
    tokens = [t for word in pieces for part in word for t in part]
    tagged = [tag for _, tag in _tagger()(" ".join(tokens), tokenize=False)] if tokens else []
    if len(tagged) != len(tokens):  # the tagger split a token of its own: the places would shift
        raise QxError(f"the part-of-speech tagger read {len(tagged)} tokens in {len(tokens)}: {text[:60]!r}")
    out, at = [], 0
    for lead, core, trail in pieces:
        out.append(tagged[at + len(lead)] if core else "")
        at += len(lead) + len(core) + len(trail)
    return out


@functools.lru_cache(maxsize=4096)
def part_of_speech(word: str) -> str:
    """"adjective" (tagged ``JJ*`` alone), "adverb" (``RB*``) or "" (never inserted)."""
    tag = _tagger()(word, tokenize=False)
    first = tag[0][1] if len(tag) == 1 else ""
    return "adjective" if first.startswith("JJ") else "adverb" if first.startswith("RB") else ""


def places(text: str) -> list[tuple[int, str]]:
    """Each word boundary the test may insert at, with the part of speech it takes: before a noun
    (``NN``/``NNS``) an adjective, before a verb (``VB*``) an adverb. A verb followed by a verb is an
    auxiliary ("is playing": the adverb goes before "playing"), and so is a verb right after a
    wh-word ("What do people ..."): neither is a place; nor is a word with leading punctuation or an
    apostrophe (a contraction or a possessive: "it's", "Venezuela's")."""
    words, found = text.split(" "), tags(text)
    out = []
    for i, tag in enumerate(found):
        if not words[i][:1].isalnum() or "'" in words[i] or "’" in words[i]:
            continue
        if tag in NOUNS:
            out.append((i, "adjective"))
        elif tag.startswith("VB") and not _auxiliary(found, i):
            out.append((i, "adverb"))
    return out


def _auxiliary(found: Sequence[str], i: int) -> bool:
    after = next((t for t in found[i + 1:] if t and not t.startswith("RB")), "")  # "is not playing" too
    return after.startswith("VB") or (i > 0 and found[i - 1] in WH)


def _fits(word: str, before: str) -> bool:
    """A candidate that keeps the article in front of its place right ("a old", "an new" are not)."""
    vowel = word[:1].lower() in "aeiou"
    return not ((before.lower() == "a" and vowel) or (before.lower() == "an" and not vowel))


def insertions(text: str, candidates: Sequence[str], words: int = WORDS, positions: int = POSITIONS) -> list[Insertion]:
    """Up to ``positions`` places x ``words`` candidates of the place's part of speech (:func:`places`,
    :func:`part_of_speech`), in a fixed order: by place, then word. Deterministic in ``text``; empty
    when the text has no noun or verb that a candidate fits."""
    rng = random.Random(zlib.crc32(text.encode()))
    pools = {pos: sorted({w for w in candidates if part_of_speech(w) == pos}) for pos in ("adjective", "adverb")}
    tokens = text.split(" ")
    usable = [(at, pool) for at, pos in places(text)
              if (pool := [w for w in pools[pos] if _fits(w, tokens[at - 1] if at else "")])]
    out = []
    for at, pool in sorted(rng.sample(usable, min(positions, len(usable)))):
        for w in rng.sample(pool, min(words, len(pool))):
            out.append(Insertion(w, at, inserted_text(text, w, at)))
    return out


def inserted_text(text: str, word: str, at: int) -> str:
    """The edited part with ``word`` inserted before its word ``at`` (as :func:`insertions` builds it)."""
    tokens = text.split(" ")
    return " ".join([*tokens[:at], word, *tokens[at:]])


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _grams(words: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def mentions_outside_copy(explanation: str, word: str, perturbed: str) -> bool:
    """Whether ``explanation`` mentions ``word`` (whole word, any case) at least once outside a span copied
    from ``perturbed`` (the input as the model read it: the changed part and the fixed part): an occurrence
    is copied when a run of three words of the explanation that contains it (two where the explanation or
    the input has only two) also appears in ``perturbed``. A pair is too short: "playing a strange guitar"
    shares the pair "a strange" with "A strange man playing guitar" and is no copy. A one-word explanation
    that is the word copies nothing. False for an empty explanation."""
    said, source, target = _words(explanation), _words(perturbed), word.lower()
    n = max(2, min(3, len(said), len(source)))
    copied = _grams(source, n)
    for j, w in enumerate(said):
        starts = range(max(0, j - n + 1), min(j, len(said) - n) + 1)
        if w == target and not any(tuple(said[k:k + n]) in copied for k in starts):
            return True
    return False
