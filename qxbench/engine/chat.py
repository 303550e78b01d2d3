"""How a probe's own prompts reach a chat model: lm-eval's ``--apply_chat_template`` and
``--system_instruction``, carried by every probe request (:class:`qxbench.lmeval.probe.ProbeTask`).

lm-eval formats a task's context itself, but a probe builds its prompts inside the model (rewrite,
explain, re-classify ...), so each request carries a :class:`Chat` and the model formats every
prompt it builds with it: one user turn (after the system instruction, when given) and the
generation prompt. Readouts whose definition names a position in the raw prompt (memorize's
attribution at the last prompt token, multihop's EntRec at the end of the descriptive mention, the
neurons probe's texts) stay on the raw prompt; their greedy answers are chat-formatted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from qxbench.errors import QxError


@dataclass(frozen=True)
class Chat:
    apply: bool = False
    system: str | None = None

    def formatter(self, lm: Any) -> Callable[[str], str]:
        """``prompt -> text the model sees``; one line naming the model when it has no template."""
        if not self.apply:
            if self.system:
                return lambda prompt: f"{self.system}\n\n{prompt}"  # lm-eval's plain-text rule
            return lambda prompt: prompt
        tokenizer = getattr(lm, "tokenizer", None)
        if getattr(tokenizer, "chat_template", None) is None:
            name = getattr(tokenizer, "name_or_path", "this model")
            raise QxError(f"--apply_chat_template was given but the tokenizer of '{name}' has no chat template; "
                          "run without --apply_chat_template")
        head = [{"role": "system", "content": self.system}] if self.system else []
        return lambda prompt: lm.apply_chat_template([*head, {"role": "user", "content": prompt}])


def of(requests: Sequence[Any]) -> Chat:
    """The chat settings of a batch of probe requests (one task's requests share them)."""
    return getattr(requests[0], "chat", None) or Chat() if requests else Chat()


def cut_answer(text: str) -> str:
    """A generated answer up to the first line break after non-blank text: a chat model's leading
    newline does not make the answer empty."""
    stripped = text.lstrip()
    return stripped.split("\n", 1)[0].strip()
