"""The prompts of the explainability probes, in named, versioned sets (the set's name is recorded in
every result, :class:`qxbench.probes.selfexplain.Counterfactual` / ``Explanation``).

``instruct-1`` (the default of the real-data variants): instruction prompts that state the task, the
labels, the current prediction, the target label and "change as few words as possible", zero-shot in
the manner of FIZLE (Bhattacharjee et al. 2024, "Towards LLM-guided Causal Explainability for
Black-box Text Classifiers", the zero-shot counterfactual baseline of Wang et al. 2025, arXiv
2505.13963), optionally after ``k`` labelled demonstrations (``num_fewshot``). The model formats each
prompt as the task asked: through the chat template under ``--apply_chat_template`` (instruct
models), as plain text otherwise (base models); the last line ("Rewritten hypothesis:") lets a base
model continue where a chat model answers.

``completion-0``: the terse completion templates of qxbench <= 0.x ("Review: ...\\nSentiment: positive
\\nRewrite as negative:"), the embedded world's training format and the default of its variants.

A document with a fixed part (``context``: e-SNLI's premise, HealthFC's evidence) shows it before the
edited part and, in the rewrite prompt, says to rewrite only the edited part.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qxbench.data.classify import classify_prompt
from qxbench.engine.chat import Chat
from qxbench.errors import unknown

PROMPT_SETS = ("instruct-1", "completion-0")


def _labels(doc: Mapping[str, Any]) -> str:
    return ", ".join(f'"{c}"' for c in doc["choices"])


def _input(doc: Mapping[str, Any], text: str | None = None) -> str:
    head = f"{doc['context_name']}: {doc['context']}\n" if doc.get("context") else ""
    return f"{head}{doc['input_name']}: {doc['text'] if text is None else text}"


@dataclass(frozen=True)
class PromptSet:
    """``demos``: labelled documents shown before the instruction (never evaluated; see
    ``lm_eval_tasks/cf_flip/utils.py::fewshot_split``); ignored by ``completion-0``. ``chat``: how this
    run's prompts reach a model (:class:`~qxbench.engine.chat.Chat`: the chat template under
    ``--apply_chat_template``, else plain text), set per request batch and passed with the prompts: each
    model formats them with its own tokenizer (:meth:`formatter`), never state kept on the model."""

    name: str = "instruct-1"
    demos: tuple[Mapping[str, Any], ...] = ()
    chat: Chat = Chat()

    def __post_init__(self) -> None:
        if self.name not in PROMPT_SETS:
            raise unknown("prompt set", self.name, PROMPT_SETS)

    def formatter(self, lm: Any) -> Callable[[str], str]:
        """``prompt -> text lm reads`` under this run's chat settings (one line where lm has no template)."""
        return self.chat.formatter(lm)

    def _examples(self, with_explanation: bool) -> str:
        if not self.demos:
            return ""
        rows = []
        for d in self.demos:
            row = f"{_input(d)}\n{d['label_name']}: {d['choices'][d['label']]}"
            if with_explanation and d["explanations"]:
                row += f"\nExplanation: {d['explanations'][0]}"
            rows.append(row)
        return "Examples:\n\n" + "\n\n".join(rows) + "\n\nNow this one:\n\n"

    def _head(self, doc: Mapping[str, Any]) -> str:
        return f"{doc['task']} The labels are: {_labels(doc)}.\n\n"

    def classify(self, doc: Mapping[str, Any], text: str | None = None) -> str:
        """The prompt after which each label's log-likelihood (`` label``) is read."""
        if self.name == "completion-0":
            return classify_prompt(doc, text)
        return (f"{self._head(doc)}{self._examples(False)}{_input(doc, text)}\n"
                f"Answer with the label only.\n{doc['label_name']}:")

    def classify_parts(self, doc: Mapping[str, Any], text: str | None = None) -> tuple[str, str | None]:
        """(the user turn, the answer cue): instruct-1 puts its last line ("Relation:") after the chat
        template's assistant header, so that a chat model's answer starts with the label (in the user
        turn, SmolLM2-135M-Instruct gave every SST-2 review one label; with the cue in its own turn,
        0.78 of 32 correct); completion-0 has no separate cue (None: the whole prompt is the user turn)."""
        prompt = self.classify(doc, text)
        if self.name == "completion-0":
            return prompt, None
        user, cue = prompt.rsplit("\n", 1)
        return user, cue

    def rewrite(self, doc: Mapping[str, Any], pred: int, target: int) -> str:
        """Asks for a counterfactual of the edited part (``text``) only."""
        current, wanted = doc["choices"][pred], doc["choices"][target]
        if self.name == "completion-0":
            return f"{classify_prompt(doc)} {current}\nRewrite as {wanted}:"
        part = doc["input_name"].lower()
        context = doc.get("context")
        keep = f" Keep the {doc['context_name'].lower()} as it is; rewrite only the {part}." if context else ""
        return (f"{self._head(doc)}{self._examples(False)}{_input(doc)}\n{doc['label_name']}: {current}\n\n"
                f'Rewrite the {part} so that the {doc["label_name"].lower()} becomes "{wanted}" instead of '
                f'"{current}". Change as few words as possible.{keep} Answer with the rewritten {part} only, '
                f"on one line.\nRewritten {part}:")

    def explain(self, doc: Mapping[str, Any], pred: int, text: str | None = None) -> str:
        label = doc["choices"][pred]
        if self.name == "completion-0":
            return f"{classify_prompt(doc, text)} {label}\nExplanation:"
        return (f"{self._head(doc)}{self._examples(True)}{_input(doc, text)}\n{doc['label_name']}: {label}\n\n"
                f'Explain in one sentence why the {doc["label_name"].lower()} is "{label}". Answer with the '
                f"explanation only.\nExplanation:")


def prompt_set(name: str, demos: Sequence[Mapping[str, Any]] = ()) -> PromptSet:
    return PromptSet(name, tuple(demos))
