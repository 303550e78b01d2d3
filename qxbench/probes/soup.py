"""Token soup: an answer that is not language (cf_flip 4.3, nle_sim 4.2; issue 38).

A model with random weights (the random-init floor) writes strings of unrelated tokens from many scripts
("hipster郢联通 DeutschlandBreaking verts Become…", "@Configuration@Configuration…", "//${ coz reviewtoggle://${…").
Before this rule the readers of :mod:`qxbench.probes.answers` read 0.72–0.92 of the 0.5B floor's rewrites and
0.13–0.21 of its explanations as ``valid``, so the floor's flip rates counted soup as counterfactuals. The rule
was measured on every committed Qwen answer before it became a kind (``benchmarks/studies/soup_rule.py``,
``benchmarks/results/soup_rule.json``): it flags an answer when

- more than :data:`SCRIPT_SHARE` of its letters are outside the Latin script (the inputs are English), or
- it has at least :data:`MIN_WORDS` words, fewer than :data:`STOP_SHARE` of them English function words
  (:data:`FUNCTION_WORDS`: English prose has several times more), and fewer than :data:`INPUT_SHARE` of them
  words of the document (the input, its fixed part, the labels), or
- at least :data:`CODE_SHARE` of its whitespace-separated tokens look like code or like no word: a bracket,
  underscore, slash, semicolon, angle bracket, bar or equals sign, a capital right after a small letter
  ("HashCodemaid )]", "_deck(())"), or Latin letters beside letters of another script in one token
  ("assassin線VER"); sentence punctuation around a token and one pair of parentheses around it are not
  looked at ("(science)" is a word), and a token the document itself holds ("Sci/Tech") is not counted.

Pure functions of the text and the document's words; an answer with no word is not soup (the readers'
``empty`` covers it). Degenerate text of this kind is what "neural text degeneration" calls incoherent
sampling output (Holtzman et al. 2020); the thresholds are this project's, not a paper's.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["SCRIPT_SHARE", "MIN_WORDS", "STOP_SHARE", "INPUT_SHARE", "CODE_SHARE", "FUNCTION_WORDS", "letters",
           "non_latin_share", "code_share", "Clauses", "clauses", "is_soup", "document_words"]

SCRIPT_SHARE = 0.2  # more than this share of letters outside the Latin script
MIN_WORDS = 10  # the function-word clause needs this many words
STOP_SHARE = 0.15  # ... fewer than this share of them function words
INPUT_SHARE = 0.5  # ... and fewer than this share of them the document's
CODE_SHARE = 0.5  # at least this share of the tokens code-like
FUNCTION_WORDS = frozenset(
    "a an the of and or but is are was were be been to in on at for with by from as that this it its not no he "
    "she they we you i his her their our my your do does did has have had can will would should could so than "
    "then there here what which who whom whose when where why how all any some more most very just also into "
    "over under about after before up down out off if because while".split())
_LETTERS = re.compile(r"[^\W\d_]+")
_PUNCT = ".,;:!?\"'“”‘’"
_CODE = re.compile(r"[()\[\]{};_<>/\\|=]|[a-z][A-Z]")


def letters(text: str) -> list[str]:
    """Lower-cased runs of letters (digits and underscores split words): the unit of the word clauses."""
    return _LETTERS.findall(text.lower())


def non_latin_share(text: str) -> float:
    """The share of ``text``'s letters whose Unicode name is not LATIN; 0.0 when it has no letter."""
    found = [c for c in text if c.isalpha()]
    if not found:
        return 0.0
    return sum(not unicodedata.name(c, "").startswith("LATIN") for c in found) / len(found)


def _mixed(token: str) -> bool:
    """Latin letters and letters of another script in one token ("Queue殿", "Repliesжиhipster")."""
    latin = [unicodedata.name(c, "").startswith("LATIN") for c in token if c.isalpha()]
    return any(latin) and not all(latin)


def code_share(text: str, given: Iterable[str] = ()) -> float:
    """The share of ``text``'s whitespace-separated tokens that look like code (:data:`_CODE`) or mix scripts
    (:func:`_mixed`) and are not one of the ``given`` tokens (the document's own, lower-cased); 0.0 for a text
    with no token."""
    tokens, known = text.split(), {t.lower() for t in given}
    if not tokens:
        return 0.0
    odd = [bool(_CODE.search(_core(t))) or _mixed(t) for t in tokens]
    return sum(o and _bare(t) not in known for o, t in zip(odd, tokens, strict=True)) / len(tokens)


def _bare(token: str) -> str:
    """A token lower-cased without the sentence punctuation around it."""
    return token.lower().strip(_PUNCT)


def _core(token: str) -> str:
    """A token without the sentence punctuation around it and without one pair of parentheses around the
    rest: "(science)," -> "science"; ")]" and "_deck(())" keep their brackets."""
    core = token.strip(_PUNCT)
    return core[1:-1] if len(core) > 2 and core[0] == "(" and core[-1] == ")" else core


def document_words(doc: dict) -> tuple[set[str], set[str]]:
    """(the words, the whitespace tokens) of a normalised classification document's input, fixed part and
    labels (:mod:`qxbench.data.classify`), lower-cased: what an answer may take from the document."""
    parts = [str(doc.get("text") or ""), str(doc.get("context") or ""), *map(str, doc.get("choices") or ())]
    joined = " ".join(parts)
    return set(letters(joined)), {_bare(t) for t in joined.split()}


@dataclass(frozen=True)
class Clauses:
    """Which clauses of the rule (the module docstring) a text meets: ``script`` (other scripts), ``prose``
    (none), ``code``."""

    script: bool
    prose: bool
    code: bool

    def __bool__(self) -> bool:
        return self.script or self.prose or self.code


def clauses(text: str, doc: dict) -> Clauses:
    """The clauses ``text`` meets for the normalised document ``doc``; a text with no word meets none."""
    found = letters(text)
    if not found:
        return Clauses(False, False, False)
    given, tokens = document_words(doc)
    stop = sum(w in FUNCTION_WORDS for w in found) / len(found)
    shared = sum(w in given for w in found) / len(found)
    return Clauses(script=non_latin_share(text) > SCRIPT_SHARE,
                   prose=len(found) >= MIN_WORDS and stop < STOP_SHARE and shared < INPUT_SHARE,
                   code=code_share(text, tokens) >= CODE_SHARE)


def is_soup(text: str, doc: dict) -> bool:
    """Whether ``text`` (a rewrite read from an answer, or an explanation) is token soup by the rule in the
    module docstring (any of its :func:`clauses`), for the normalised document ``doc``; a text with no word
    is not."""
    return bool(clauses(text, doc))
