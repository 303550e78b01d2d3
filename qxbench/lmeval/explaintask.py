"""The task side shared by ``cf_flip`` and ``nle_sim``: their probe options (``--metadata``), the
few-shot demonstrations and the request each document sends.

Options (a variant's YAML sets its defaults; ``--metadata`` overrides them):

    prompts             the prompt set (:mod:`qxbench.probes.prompts`): instruct-1 | completion-0
    num_fewshot         k labelled demonstrations before each prompt (also lm-eval's ``--num_fewshot``)
    insertion_words     nle_sim's insertion test: words per document (:mod:`qxbench.probes.insertion`)
    insertion_positions nle_sim's insertion test: positions per document
    apply_chat_template true: the prompts go through the model's chat template, as lm-eval's
                        ``--apply_chat_template`` does (for drivers that cannot pass that flag: ``qxbench sweep``)

Demonstrations are ``k`` documents drawn from the evaluated split by a generator with a fixed seed
(``FEWSHOT_SEED``) and removed from it, so no demonstration is ever evaluated and every model sees
the same ones.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from qxbench.data.classify import ECQA_OPTIONS
from qxbench.data.datasource import DATA_OPTION, load_local
from qxbench.engine.chat import Chat
from qxbench.errors import QxError
from qxbench.lmeval.probe import ProbeTask
from qxbench.probes.options import ExplainOptions, known_options
from qxbench.probes.prompts import PROMPT_SETS, PromptSet

FEWSHOT_SEED = 1234
OPTIONS = ("prompts", "num_fewshot", "insertion_words", "insertion_positions", "apply_chat_template")


# The columns each local copy must have, and their types (datasource.load_local checks them)
COLUMNS = {
    "sst2": {"sentence": str, "label": int},
    "ag_news": {"text": str, "label": int},
    "esnli": {"premise": str, "hypothesis": str, "label": int},
    "esnli_nle": {"premise": str, "hypothesis": str, "label": int, "explanation_1": str},
    "ecqa": {"q_text": str, **{k: str for k in ECQA_OPTIONS}, "q_ans": str, "taskB": str},
    "healthfc": {"en_claim": str, "en_top_sentences": str, "en_explanation": str, "label": int},
}


def load_healthfc(data_path: str | None = None, **_metadata):
    """HealthFC's own CSV (Vladika et al. 2024; 750 claims, CC BY-NC-ND): it is not on the Hub, so
    ``data_path`` is required."""
    if not data_path:
        raise QxError(f"HealthFC is read from its own CSV (healthfc.csv, columns en_claim, en_top_sentences, "
                      f"en_explanation, label): pass --metadata '{{\"{DATA_OPTION}\": \"/path/to/healthfc.csv\"}}'")
    return load_local(data_path, "healthfc", columns=COLUMNS["healthfc"])


def _count(name: str, value: Any, least: int) -> int:
    if isinstance(value, bool) or not str(value).strip().isdigit() or int(value) < least:
        raise QxError(f"{name} must be an integer >= {least}, got {value!r}")
    return int(value)


def _flag(name: str, value: Any) -> bool:
    if str(value).lower() not in ("true", "false", "1", "0"):
        raise QxError(f"{name} must be true or false, got {value!r}")
    return str(value).lower() in ("true", "1")


def fewshot_split(n: int, k: int) -> tuple[list[int], list[int]]:
    """(demonstration indices, evaluated indices) of a split of ``n`` documents; ``k`` demonstrations
    drawn with ``FEWSHOT_SEED``. At least one document must be left to evaluate."""
    if k > n - 1:
        raise QxError(f"num_fewshot {k} is larger than the pool: the split has {n} document(s), and at least one "
                      f"must be left to evaluate (choose num_fewshot <= {n - 1})")
    demos = sorted(random.Random(FEWSHOT_SEED).sample(range(n), k))
    chosen = set(demos)
    return demos, [i for i in range(n) if i not in chosen]


class ExplainTask(ProbeTask):
    PROBE: ClassVar[str] = "cf_flip"
    _docs: Any = None
    _demos: tuple = ()

    def options(self) -> dict[str, Any]:
        metadata = dict(self.config.metadata or {})
        found = known_options(metadata, OPTIONS, self.PROBE, ignore=("version",))
        default = ExplainOptions()
        prompts = str(found.get("prompts", default.prompts))
        if prompts not in PROMPT_SETS:
            PromptSet(prompts)  # raises the one line naming the choices
        shots = found.get("num_fewshot", self.config.num_fewshot or 0)
        return {"prompts": prompts, "num_fewshot": _count("num_fewshot", shots, 0),
                "insertion_words": _count("insertion_words", found.get("insertion_words", default.insertion_words), 1),
                "insertion_positions": _count("insertion_positions",
                                              found.get("insertion_positions", default.insertion_positions), 1),
                "apply_chat_template": _flag("apply_chat_template", found.get("apply_chat_template", False))}

    def chat_settings(self, apply: bool, system: str | None) -> Chat:
        return Chat(apply or self.options()["apply_chat_template"], system)

    def test_docs(self) -> Any:
        """The split less the demonstrations (computed once: the adapters run over the whole split)."""
        if self._docs is None:
            docs = super().test_docs()
            demos, kept = fewshot_split(len(docs), self.options()["num_fewshot"])
            self._demos = tuple(docs[i] for i in demos)
            self._docs = docs.select(kept) if demos else docs
        return self._docs

    def fewshot_context(self, doc: dict, num_fewshot: int, *args: Any, **kwargs: Any) -> str:
        """The probe builds its own prompts (demonstrations included): lm-eval's context stays empty."""
        return ""

    def request_options(self) -> ExplainOptions:
        """What every request of this task carries: its options, demonstrations and version."""
        options = self.options()
        self.test_docs()
        return ExplainOptions(options["prompts"], tuple(dict(d) for d in self._demos), options["insertion_words"],
                              options["insertion_positions"], str((self.config.metadata or {}).get("version", "")))

    def probe_arguments(self, doc: dict, ctx: str) -> tuple:
        """(the classification prompt, the document, :meth:`request_options` as plain JSON)."""
        request = self.request_options()
        return (request.prompt_set().classify(doc), doc, request.as_args())
