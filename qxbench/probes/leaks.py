"""The label-leak rule of the answer reader (:mod:`qxbench.probes.answers`, kind ``leak``) and the word primitives it
shares with the reader: a rewrite that announces a label instead of editing the input is no counterfactual (cf_flip's
``label_leak_rate``; Wang et al. 2025, arXiv 2505.13963, judge a counterfactual by the re-classified input), but a
label word inside a real edit is ("Business leaders warn of potential fraud in Venezuela's economy").

The frames (:func:`leaks`), any of them: a label (or its plural, or its form without a final "s") as a header
("Science: ..."), after the label's name ("Sentiment: positive"), after an arrow, after a copula whose subject is
the text or its label ("the review is positive"; not "the man is neutral" inside an edit) or a change ("is now
positive", "instead of"), in quotes, after a final colon; a bare label (labels and function words only:
"Businesses", "Business, not sports."); a bare class word (at most 2 words behind a header, none from a 5+-word
input: "Rebranded: Soccer"); and the input word for word with a label added before or after it (cf_flip 4.6: "Does
thyme help against cough? not enough information", the 0.5B gptq-4's answer read as a valid flip under 4.5).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

BARE_WORDS, BARE_INPUT = 2, 5  # a bare class word: <= BARE_WORDS words behind a header, input >= BARE_INPUT words
# (an input of BARE_INPUT words or more is also what an unrelated rewrite keeps no word of)
FUNCTION_WORDS = frozenset("a an the is it its not no and or but to of from instead rather than now".split())
# what the prompts call the input, or a reader calls it: a rewrite's frame (answers._FRAME) and a label's subject
TEXT_NAMES = ("review", "article", "hypothesis", "claim", "sentence", "text", "statement")

_WORD = re.compile(r"\w+")
_ADVERB = (r"(?:now\s+|still\s+|clearly\s+|indeed\s+|decidedly\s+|overwhelmingly\s+|predominantly\s+|"
           r"definitely\s+|very\s+)?")
_COPULA = r"(?:is|was|are|were|be|becomes?|became|not)\s+" + _ADVERB  # after a subject that is the text or label
_CHANGE = r"(?:changed\s+to|changes\s+to|change\s+to|turned\s+into|instead\s+of|rather\s+than|is\s+now|was\s+now)\s+"
# what a copula announcing a label speaks of: the text itself or its label ("the review is positive"), not a
# thing inside an edit ("the man is neutral", "the test is positive")
_SUBJECTS = ("it", "this", "that", *TEXT_NAMES,
             "label", "answer", "result", "sentiment", "relation", "topic", "verdict", "category", "class", "tone")


def words(text: str) -> list[str]:
    """Lower-cased word runs: the unit every comparison of the reader uses (case and punctuation ignored)."""
    return _WORD.findall(text.lower())


def label_pattern(choices: Iterable[str]) -> str:
    """Any label, or a trivial inflection of it (plural "-s"/"-es", or without a final "s"), as a
    whole word or phrase."""
    forms = set()
    for label in choices:
        base = re.escape(label.strip().lower())
        forms.add(base)
        if label.strip().lower().endswith("s"):
            forms.add(base[:-1])
    alternatives = "|".join(sorted(forms, key=len, reverse=True))
    return rf"(?<!\w)(?:{alternatives})(?:e?s)?(?!\w)"


def unrelated(text: str, doc: Mapping[str, Any]) -> bool:
    """No word of an edited part of at least BARE_INPUT words (words as :func:`words` reads them: case and
    punctuation ignored, function words count): a new text, not an edit (cf_flip 4.5)."""
    given = set(words(doc["text"]))
    return len(given) >= BARE_INPUT and not set(words(text)) & given


def _labelled_copy(said: str, label: str, doc: Mapping[str, Any]) -> bool:
    """The input word for word with a label (``label``: :func:`label_pattern`) before or after it (cf_flip 4.6)."""
    given = words(doc["text"])
    ends = (rf"^\W*{label}\W*(.*)$", rf"^(.*?)\W*{label}\W*$")
    if any((m := re.match(end, said, re.S)) is not None and words(m.group(1)) == given for end in ends):
        return True
    # a label standing alone after the text's last sentence ends ("... cough? supported"), or before its first
    return bool(re.search(rf"\w.*[.?!…][\"'”’)\]]*\s+[(\[\"'“]?{label}[\"'”)\]]?\s*[.!]?$", said, re.S)
                or re.match(rf"^[(\[\"'“]?{label}[\"'”)\]]?\s*[.!?]\s+\w", said))


def leaks(heads: list[str], body: str, full: str, doc: Mapping[str, Any]) -> bool:
    """A label announced rather than an input edited (the frames of the module docstring). ``heads``: the
    answer's headers; ``body``: the rewrite read from it; ``full``: its line before the headers were stripped."""
    label = label_pattern(doc["choices"])
    name = re.escape(str(doc["label_name"]).lower())
    names = {str(doc[k]).lower() for k in ("input_name", "label_name") if doc.get(k)} | set(_SUBJECTS)
    subject = "|".join(re.escape(n) for n in sorted(names))
    frames = (rf"\b{name}\s*:\s*[\"'“]?{label}",  # "Sentiment: positive"
              rf"(?:→|->|=>)\s*[\"'“]?{label}",  # "→ positive"
              # "the review is positive", "the claim is not supported"
              rf"\b(?:{subject})\s+{_COPULA}(?:not\s+)?[\"'“]?{label}",
              rf"\b{_CHANGE}{_ADVERB}[\"'“]?{label}",  # "is now positive", "instead of business"
              rf"[\"'“‘]{label}[\"'”’]",  # 'The review is "positive"'
              rf":\s*[\"'“]?{label}[\"'”]?\s*[.!]?$")  # "The article has been rewritten to: Business"
    if any(re.search(frame, full.lower()) for frame in frames):
        return True
    if any(re.fullmatch(rf"(?:the\s+)?{label}", head.lower()) for head in heads):
        return True  # a label as a header: "Science: 1994 Law ...", "Science:"
    said = body.lower()
    if re.search(label, said) and all(w in FUNCTION_WORDS for w in words(re.sub(label, " ", said))):
        return True  # a bare label: "Businesses", "Science (science)", "Business, not sports."
    if _labelled_copy(said, label, doc):
        return True  # "Does thyme help against cough? not enough information"
    return bool(heads) and 0 < len(words(said)) <= BARE_WORDS and unrelated(said, doc)  # "Rebranded: Soccer"
