"""Every generated answer read and validated before it is scored (issue 38, explanations protocol 4).

A 135M model often does not do what the rewrite or explanation prompt asks: it repeats the cue
("Rewrite claim:"), returns the input or the premise, loops, talks about the task, or announces a
label instead of editing the input ("Sentiment: positive"). The probes' metrics would score such an
answer as if it were a counterfactual or an explanation. These readers give every answer one
**kind**, so that each kind's rate can be reported beside the metrics (:func:`kind_rates`).

The rules are pure functions of the answer and the normalised classification document
(:mod:`qxbench.data.classify`: ``text`` the edited part, ``context`` the fixed part, ``choices``,
``input_name``, ``context_name``, ``label_name``). Words are compared as lower-cased ``\\w+`` runs
(case and punctuation ignored; ``it 's`` = ``it's``). Label leaks follow cf_flip's
``label_leak_rate`` (a counterfactual that names the target label is no edit; Wang et al. 2025,
arXiv 2505.13963, judge counterfactuals by the re-classified input) but accept a label word
inside a real edit; degenerate repetition is flagged as in neural text degeneration work
(Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration": repeated n-grams).

**Rewrites** (:func:`read_rewrite`): a preamble ("Here is the rewritten review:") and leading
headers of at most four words ("Review:", "Rewritten hypothesis:", "The article:") are stripped; a
line of headers only takes the next line; quotes around the whole rest are dropped. A rewrite presented
in a frame without a colon, the whole rest one quoted span ('The hypothesis is "The woman is not a
woman."', 'The new review reads "…"'), is read as the quoted text, as the same frame with a colon is
(cf_flip 4.4; 4.3 read it ``meta``). A frame with more after the quote ('The movie review is "…" with a
positive sentiment.') stays what it was. The kinds, in
precedence order (the first that applies):

    empty         nothing but whitespace
    copy          the edited part, word for word, with or without the headers
    context_copy  the fixed part (premise, evidence) or an excerpt of it, word for word or nearly (at
                  least 4 words, 90 % of them in runs of 3+ words shared in order with the fixed part:
                  "The old man with a package ..." for the premise "An old man with a package ..."). A
                  near copy of the *edited* part is an edit (a minimal one is what was asked); of the
                  fixed part it is none
    loop          a 4-word n-gram three times or more (more often than in the input)
    leak          a label (or its plural, or its form without a final "s") announced: a label as a
                  header ("Science: ..."), after the label's name ("Sentiment: positive"), after an
                  arrow, a copula whose subject is the text or its label ("the review is positive",
                  "it is clearly negative"; not "the man is neutral" inside an edit) or a change ("is now
                  positive", "instead of"), in quotes, after a
                  final colon, or a bare label (labels and function words only: "Businesses",
                  "Business, not sports.") or a bare class word (at most 2 words behind a header,
                  none from a 5+-word input: "Rebranded: Soccer"), or the input word for word with a label
                  added before or after it (cf_flip 4.6: "Does thyme help against cough? not enough
                  information"). The rule is :mod:`qxbench.probes.leaks`
    stub          headers or a cue with no content ("Rewrite claim:", "The article:")
    soup          not language: mostly letters of other scripts, almost no function word and little of the
                  document, or code-like fragments (:mod:`qxbench.probes.soup`; cf_flip 4.3: the random-init
                  floor's "hipster郢联通 DeutschlandBreaking verts …" was read ``valid``). It follows the kinds
                  that name a precise failure (a loop of soup is a loop) and precedes ``meta``
    meta          the text after the headers talks about the task: "rewrit...", "rephras...", "here is",
                  or "the [one word] <part or label name>" ("The movie review was ...", "the topic",
                  "The evidence suggests ..."), a cue the edited part does not contain itself; or it
                  declines the request (cf_flip 4.2): "I'm sorry, but I can't assist with that." (an
                  apology, then a refusal to assist, help or comply; "I'm sorry, but I can't recommend
                  this film." is a review, and "I can't help but love it" an idiom: both stay valid)
    unrelated     keeps no word of an edited part of 5 words or more: a new text, not an edit of the input
                  (cf_flip 4.5). What a counterfactual edits is the input (Wu et al. 2021, Polyjuice; Ross et
                  al. 2021, MiCE: minimal edits), so a rewrite with none of its words is none. The random-init
                  floors' short fragments that the soup rule lets through ('commuting eclectic %', 'moder
                  abound#######') are such answers, and so are a real model's new headline ('Scientists study
                  climate change impacts.') and bare near-labels ('Supports'). An input under 5 words may be
                  replaced whole by a minimal edit ("bleak" -> "bright") and is not judged so
    valid         anything else (a label word inside a real edit stays valid)

**Explanations** (:func:`read_explanation`), in precedence order: ``empty``; ``copy`` (the edited
or the fixed part, or both, word for word); ``soup`` (as for rewrites; nle_sim 4.2: before the two
catch-alls that presume language); ``restates`` (at most 8 words and no reason word such as
"because": 'The verdict is "not enough information"'; or, nle_sim 4.3-4.5, where the document has a fixed part,
no content word but the labels', the input's and the task's: :mod:`qxbench.probes.restates`); ``truncated``
(generation stopped at its token cap, ``capped``, and the text does not end a sentence); ``valid``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from qxbench.errors import unknown
from qxbench.probes.leaks import TEXT_NAMES, leaks, unrelated, words
from qxbench.probes.restates import adds_nothing
from qxbench.probes.soup import is_soup

__all__ = ["REWRITE_KINDS", "EXPLANATION_KINDS", "Rewrite", "Explanation", "read_rewrite", "read_explanation",
           "kind_rates", "words"]

REWRITE_KINDS = ("empty", "copy", "context_copy", "loop", "leak", "stub", "soup", "meta", "unrelated",
                 "valid")  # precedence order
EXPLANATION_KINDS = ("empty", "copy", "soup", "restates", "truncated", "valid")  # precedence order

LOOP_N, LOOP_TIMES = 4, 3  # an n-gram of LOOP_N words LOOP_TIMES times or more is a loop
CONTEXT_RUN, RUN_WORDS, COPIED = 4, 3, 0.9  # a context copy: >= 4 words, >= 90 % of them in shared runs of >= 3
RESTATES_WORDS = 8  # an explanation this short without a reason word restates the label

_PREAMBLE = re.compile(r"^\s*(?:sure[!,.]?\s*)?(?:here\s+is|here's|here\s+are)\b[^:\n]*:\s*", re.I)
_HEADER = re.compile(r"^\s*((?:[\w'’-]+\s+){0,3}[\w'’-]+)\s*:\s*")
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’"}
# a rewrite presented without a colon: "[the] [new|rewritten|...] [movie|news] <part> is|was|reads "<it>"[.]"
_PARTS = f"(?:{'|'.join((*TEXT_NAMES, 'headline'))})"
_FRAME = re.compile(r"^(?:the\s+)?(?:(?:new|rewritten|revised|modified|updated|edited|changed)\s+)?"
                    rf"(?:movie\s+|news\s+)?{_PARTS}\s+(?:is|was|becomes|would\s+be|now\s+reads|reads)\s+"
                    r"(?:\"([^\"“”]+)\"|“([^\"“”]+)”)\s*[.!]?$", re.I)
_REASONS = re.compile(r"\b(?:because|since|as|so|due|given|therefore|thus|hence|which|who|where|shows?|suggests?|"
                      r"indicates?|implies|means|mentions?|describes?|says|states?)\b", re.I)
_META = r"\b(?:re-?writ\w*|rephras\w*|here\s+is|here's)\b"
# declining the request, not an edit (Qwen2.5: "I'm sorry, but I can't assist with that."): at the start, an optional
# apology, then "I can't / cannot / won't / am unable to" assist or help (with that, or nothing after), comply or
# fulfil. Not "I can't recommend this film", "I can't help but love it", "I can't help feeling ...": reviews.
_APOLOGY = r"(?:(?:i['’]?m|i\s+am)\s+(?:sorry|afraid)|sorry|i\s+apologi[sz]e)\b[^.!?]{0,30}?"
_DECLINE = (r"(?:\bi\s+(?:can['’]?t|cannot|can\s+not|won['’]?t|am\s+unable\s+to|am\s+not\s+able\s+to)"
            r"|\bi['’]m\s+(?:unable|not\s+able)\s+to)\s+")
_ASKED = r"(?:(?:assist|help)(?:\s+you)?(?:\s+with\b|\s*[.!]|\s*$)|comply\b|fulfil+\b)"
_REFUSAL = re.compile(rf"^(?:{_APOLOGY})?{_DECLINE}{_ASKED}", re.I)
_END = re.compile(r"[.!?…][\"'”’)\]]*$")


@dataclass(frozen=True)
class Rewrite:
    """``text``: the rewrite read from the answer (preamble, headers and outer quotes dropped);
    ``kind``: one of :data:`REWRITE_KINDS`."""

    text: str
    kind: str


@dataclass(frozen=True)
class Explanation:
    """``text``: the explanation (stripped); ``kind``: one of :data:`EXPLANATION_KINDS`."""

    text: str
    kind: str


def _unquote(text: str) -> str:
    """Quotes around the whole text are dropped."""
    text = text.strip()
    if len(text) > 1 and _QUOTES.get(text[0]) == text[-1]:
        return text[1:-1].strip()
    return text


def _headers(line: str) -> tuple[list[str], str]:
    """(the leading headers of at most four words each, the rest) of one line."""
    heads: list[str] = []
    while match := _HEADER.match(line):
        heads.append(match.group(1))
        line = line[match.end():]
    return heads, line.strip()


def _extract(answer: str) -> tuple[list[str], list[str]]:
    """(headers, readings from the least to the most stripped): the answer's first non-blank line
    after its preamble, then that line after each of its headers; the last reading unquoted. A line
    of headers only takes the next line ("Rewritten review:\\n<the rewrite>")."""
    lines = [line for line in (_PREAMBLE.sub("", raw).strip() for raw in answer.strip().splitlines()) if line]
    if not lines:  # a preamble only
        return [], [""]
    heads, rest = _headers(lines[0])
    while not rest and len(lines) > 1:
        lines.pop(0)
        more, rest = _headers(lines[0])
        heads += more
    readings = [lines[0]]
    for _ in range(len(_headers(lines[0])[0])):
        readings.append(_HEADER.sub("", readings[-1], count=1).strip())
    readings[-1] = _unquote(readings[-1])
    if frame := _FRAME.match(readings[-1]):  # 'The hypothesis is "..."': the quoted rewrite (cf_flip 4.4)
        readings.append((frame.group(1) or frame.group(2)).strip())
    return heads, readings


def _loops(text: str, original: str) -> bool:
    """A LOOP_N-gram of words LOOP_TIMES times or more, more often than in the input."""
    def grams(ws: list[str]) -> Counter:
        return Counter(tuple(ws[i:i + LOOP_N]) for i in range(len(ws) - LOOP_N + 1))

    found, given = grams(words(text)), grams(words(original))
    return any(n >= LOOP_TIMES and n > given[g] for g, n in found.items())


def _copies(part: list[str], whole: list[str]) -> bool:
    """``part`` (at least CONTEXT_RUN words) is ``whole`` or an excerpt of it, word for word or nearly:
    at least COPIED of its words lie in runs of RUN_WORDS or more words shared, in order, with ``whole``
    (difflib's matching blocks; "The old man with a package poses ..." for "An old man with ...")."""
    if len(part) < CONTEXT_RUN or not whole:
        return False
    blocks = SequenceMatcher(None, part, whole, autojunk=False).get_matching_blocks()
    return sum(b.size for b in blocks if b.size >= RUN_WORDS) >= COPIED * len(part)


def _meta(text: str, doc: Mapping[str, Any]) -> bool:
    """Talks about the task: a cue of :data:`_META` or "the [word] <part or label name>" ("the movie
    review", "the evidence", "the topic") that the edited part does not contain itself; or a refusal of the
    request (:data:`_REFUSAL`, cf_flip 4.2) that the edited part is not itself."""
    names = {str(doc[k]).lower() for k in ("input_name", "context_name", "label_name") if doc.get(k)} | {"label"}
    named = "|".join(re.escape(n) for n in sorted(names))
    cues = (_META, rf"\bthe\s+(?:[\w-]+\s+)?(?:{named})s?\b")
    given = str(doc["text"]).lower()
    return any(re.search(cue, text.lower()) and not re.search(cue, given) for cue in cues) \
        or (_REFUSAL.match(text.strip()) is not None and not _REFUSAL.match(str(doc["text"]).strip()))


def read_rewrite(answer: str, doc: Mapping[str, Any]) -> Rewrite:
    """The rewrite in a generated ``answer`` to cf_flip's rewrite prompt and its kind (the module
    docstring: the stripping, the rules and their precedence). ``doc``: the normalised classification
    document the rewrite was asked for. A blank answer -> ``Rewrite("", "empty")``; a stub's text is ""."""
    if not answer.strip():
        return Rewrite("", "empty")
    heads, readings = _extract(answer)
    body, full = readings[-1], readings[0]
    if any(words(reading) == words(doc["text"]) for reading in readings):
        kind = "copy"
    elif _copies(words(body), words(doc.get("context") or "")):
        kind = "context_copy"
    elif _loops(full, doc["text"]):
        kind = "loop"
    elif leaks(heads, body, full, doc):
        kind = "leak"
    elif not words(body):
        kind = "stub"
    elif is_soup(body, doc):
        kind = "soup"
    elif _meta(body, doc):
        kind = "meta"
    elif unrelated(body, doc):
        kind = "unrelated"
    else:
        kind = "valid"
    return Rewrite(body, kind)


def read_explanation(answer: str, doc: Mapping[str, Any], pred: int, *, capped: bool) -> Explanation:
    """The explanation of label ``pred`` (an index into ``doc["choices"]``, checked) and its kind (the
    module docstring). ``capped``: generation stopped at its token cap (``selfexplain.EXPLAIN_TOKENS``); a
    capped text that does not end a sentence is ``truncated``. A blank answer -> ``empty``."""
    if not 0 <= pred < len(doc["choices"]):
        raise unknown("label index", pred, [str(i) for i in range(len(doc["choices"]))])
    text = answer.strip()
    said, edited, fixed = words(text), words(doc["text"]), words(doc.get("context") or "")
    if not said:
        kind = "empty"
    elif said in (edited, fixed, fixed + edited):
        kind = "copy"
    elif is_soup(text, doc):
        kind = "soup"
    elif (len(said) <= RESTATES_WORDS and not _REASONS.search(text)) or adds_nothing(text, doc):
        kind = "restates"
    elif capped and not _END.search(text):
        kind = "truncated"
    else:
        kind = "valid"
    return Explanation(text, kind)


def kind_rates(kinds: Sequence[str], names: Sequence[str] = REWRITE_KINDS) -> dict[str, float]:
    """Each kind's share of ``kinds`` (one per answer), for every kind in ``names`` (0.0 for a kind
    that never occurs); the shares sum to 1. An empty list -> every rate NaN (no answer, no share).
    A kind outside ``names`` stops with the choices."""
    for kind in kinds:
        if kind not in names:
            raise unknown("answer kind", kind, names)
    counts = Counter(kinds)
    return {name: counts[name] / len(kinds) if kinds else math.nan for name in names}
