"""Fake lm-eval LMs for the explanation probes' tests (tests/probes/test_selfexplain.py, test_scoring.py)."""

from __future__ import annotations

from qxbench.data.classify import esnli


class Judge:
    """A fake lm-eval LM: the label named by the first of ``cues`` found in the prompt's last input
    line wins (its log-likelihood is 0, the others -5); every classification prompt is recorded."""

    def __init__(self, cues: dict[str, str], default: str = "neutral") -> None:
        self.cues, self.default, self.seen = cues, default, []

    def _label(self, prompt: str) -> str:
        line = [x for x in prompt.splitlines() if x.startswith("Hypothesis:") or x.startswith("Review:")][-1]
        return next((label for cue, label in self.cues.items() if cue in line), self.default)

    def loglikelihood(self, requests, disable_tqdm=False):
        self.seen += [r.args[0] for r in requests]
        return [(0.0 if r.args[1].strip() == self._label(r.args[0]) else -5.0, False) for r in requests]

    def loglikelihood_rolling(self, requests, disable_tqdm=False):
        return [-1.0 for _ in requests]

    def tok_encode(self, text):
        return text.split()


class Templated(Judge):
    """A Judge with a chat template: ``<user>...</user><assistant>``."""

    class tokenizer:  # noqa: N801 - the attribute lm-eval's HFLM has
        chat_template = "<user>{{ content }}</user><assistant>"

    def apply_chat_template(self, messages):
        return f"<user>{messages[-1]['content']}</user><assistant>"


def esnli_doc(hypothesis="A man sleeps."):
    return esnli({"premise": "A man plays a guitar on stage.", "hypothesis": hypothesis, "label": 2,
                  "explanation_1": "Playing is not sleeping."})
