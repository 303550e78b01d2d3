"""An explanation that restates its verdict: no word in it but the labels, the input and the task's own words.

nle_sim 4.3 (issue 38, point 8: "explanations that restate the label"). A task with a fixed part (HealthFC's
evidence, e-SNLI's premise) asks why the verdict follows from it. An explanation whose every content word is
one of the labels', the edited input's (the claim, the hypothesis) or the instruction's vocabulary
(:data:`FRAME`) names nothing the verdict rests on, however long it is: Qwen2.5-Coder-1.5B's gptq-4 wrote
"The evidence does not provide enough information to determine if CBD can help with period pain." for 32
of its 83 otherwise valid HealthFC explanations (documents 0-99), full precision "The evidence supports the
health claim that ginkgo extract can improve mental performance in dementia patients." Words are compared
after :func:`stem` (a plural, past or -ing form and a final "e" removed: "reduces" is "reduce"), function
words (:data:`FUNCTION`) are not content. An explanation that quotes or paraphrases the evidence, or says
anything else, keeps a word of its own and is not caught.

nle_sim 4.4: a contraction is read as its words ("doesn't" is "does not", :func:`opened`; 4.3 read "doesn" and
"t" as words of its own, so "The evidence doesn't provide ..." escaped where "does not" was caught), and the
verbs a restatement reports with are the task's (shows, suggests, indicates, implies, means, mentions,
describes, says, states: "The claim states that ozone therapy does not influence the course of COVID-19").

nle_sim 4.5: "imply", "mean" and "mention" are a reason's words again, not the task's: "Just because a man walks
his dog does not mean he walks it to the park." (e-SNLI's neutral, built from the hypothesis's words) and "the
evidence does not mention benzodiazepines" give a reason, and 4.4 read them ``restates`` (a review of 4.4).
Every apostrophe a contraction is written with opens it (‘ ʼ ` ´ beside ' and ’).

Without a fixed part (ECQA) words cannot tell a commonsense reason from the question restated with its
answer ("The ship's hold is a place where cargo is stored on a ship."): the rule does not apply there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from qxbench.probes.leaks import words
from qxbench.probes.soup import FUNCTION_WORDS

__all__ = ["FRAME", "FUNCTION", "adds_nothing", "content", "opened", "stem"]

# soup's function words (qxbench.probes.soup.FUNCTION_WORDS) without those that can say where or when a reason
# holds ("after", "into", "over" ...) and "because" (an instruction's word, in FRAME), with the modals,
# demonstratives and quantifiers a restatement is padded with ("may", "these", "only")
FUNCTION = (FUNCTION_WORDS - frozenset("after before down here into off out over under up while because".split())
            | frozenset("being done less may me might must nor only shall such them these those whether".split()))
# the instruction's words (prompts.instruct-1: "Decide whether the evidence supports the health claim, refutes
# it, or is not enough information", "Explain ... why the verdict is ...", the premise and the hypothesis) and
# the verbs a verdict is said with ("does not provide enough information to determine if ...")
FRAME = frozenset("""evidence claim verdict label labels information enough sufficient insufficient health
statement premise hypothesis relation answer question text given correct explanation explain reason because
since therefore thus hence provide determine decide support refute entail contradict neutral
show shown suggest indicate describe say said state""".split())
# a contraction's parts as words (n't is "not": "doesn't" is "does not"); a clitic ('s, 're, 'll ...) is no word.
# Apostrophes: ' ’ ‘ ʼ (U+02BC, a letter to \w: "doesnʼt" would be one word of its own) ` ´ (4.5)
_APOSTROPHE = "['’‘ʼ`´]"
_OPEN = {"ca": "can", "wo": "will", "sha": "shall"}
_CONTRACTIONS = ((re.compile(rf"\b(ca|wo|sha)n{_APOSTROPHE}t\b"), lambda m: _OPEN[m[1]] + " not"),
                 (re.compile(rf"n{_APOSTROPHE}t\b"), lambda m: " not"),
                 (re.compile(r"\bcannot\b"), lambda m: "can not"),
                 (re.compile(rf"{_APOSTROPHE}(?:s|re|ve|ll|d|m)\b"), lambda m: ""))


def stem(word: str) -> str:
    """``word`` without one of "ing", "ed", "s" (leaving at least three letters), then without a final "e":
    "supports", "supported", "supporting" -> "support"; "reduces", "reduce" -> "reduc". Crude, and applied to
    both sides of every comparison."""
    for suffix in ("ing", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


_FRAME = frozenset(map(stem, FRAME))


def opened(text: str) -> list[str]:
    """``text``'s words (:func:`qxbench.probes.leaks.words`), contractions opened first (:data:`_CONTRACTIONS`):
    "It doesn't." -> ["it", "does", "not"]."""
    text = text.lower()
    for pattern, replace in _CONTRACTIONS:
        text = pattern.sub(replace, text)
    return words(text)


def content(text: str) -> list[str]:
    """``text``'s content words: :func:`opened`, function words dropped, each :func:`stem`-med:
    "The evidence doesn't show it." -> ["evidenc", "show"]."""
    return [stem(w) for w in opened(text) if w not in FUNCTION]


def adds_nothing(text: str, doc: Mapping[str, Any]) -> bool:
    """Whether ``text`` (an explanation of ``doc``) has content words and every one of them is a label's, the
    edited input's or the task's (the module docstring). False for a document without a fixed part (ECQA)."""
    if not str(doc.get("context") or "").strip():
        return False
    allowed = _FRAME | {stem(w) for part in (doc["text"], *doc["choices"]) for w in opened(part)}
    said = content(text)
    return bool(said) and all(w in allowed for w in said)
