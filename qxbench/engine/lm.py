"""What the probes need from a model, stated once as Protocols (issue 40: the boundary was ``lm: Any``).

The explanation probes run on the ``qx`` model (:class:`qxbench.lmeval.adapter.QXLM`, an lm-eval ``HFLM``) and,
for their scoring passes, on any lm-eval LM. Three layers, each a structural type (``typing.Protocol``):

- :class:`ScoringLM`: lm-eval's request methods and tokenizer: enough to score labels and perplexities
  (:mod:`qxbench.probes.scoring`, each request built by :mod:`qxbench.lmeval.calls`);
- :class:`GeneratingLM`: an HFLM's model, tokenizer, batch encoding and sizes: enough for greedy answers
  (:mod:`qxbench.engine.generate`);
- :class:`ProbeLM`: both (the explanation probes); :class:`QxModel`: the ``qx`` model's own additions,
  which the probes use where the model has them (each prompt run once for all its choices; a checkpoint
  identity that keys the full-precision caches).

``tests/engine/test_lm.py`` checks that ``QXLM`` has every member of the three and lm-eval's ``HFLM`` those of the
first two.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ScoringLM(Protocol):
    """lm-eval's ``LM`` as the scoring passes call it (``lm_eval/api/model.py``: ``loglikelihood``,
    ``loglikelihood_rolling``; ``HFLM.tok_encode``)."""

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[tuple[float, bool]]: ...

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]: ...

    def tok_encode(self, string: str, *args: Any, **kwargs: Any) -> list[int]: ...


@runtime_checkable
class GeneratingLM(Protocol):
    """An ``HFLM`` as greedy generation reads it: the torch model and its tokenizer, ``tok_batch_encode`` (left
    padding, left truncation), the context length and the run's batch size (``--batch_size``)."""

    model: Any
    tokenizer: Any
    max_length: int
    batch_size: int | str

    def tok_batch_encode(self, strings: list[str], *args: Any, **kwargs: Any) -> tuple[Any, Any]: ...


@runtime_checkable
class ProbeLM(ScoringLM, GeneratingLM, Protocol):
    """Both: what the explanation probes (:mod:`qxbench.probes.selfexplain`) need of any lm-eval ``HFLM``."""


@runtime_checkable
class QxModel(ProbeLM, Protocol):
    """The ``qx`` model's additions (:class:`qxbench.lmeval.requests.ProbeRequests`)."""

    def choice_loglikelihoods(self, contexts: Sequence[str], continuations: Sequence[Sequence[str]],
                              groups: Sequence[Any] | None = None,
                              batch_size: int | None = None) -> list[list[float]]: ...

    def cache_identity(self) -> dict[str, Any]: ...

    def reference_lm(self) -> Any | None: ...
