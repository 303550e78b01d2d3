"""The probe request types the ``qx`` model answers (mixed into :class:`qxbench.lmeval.adapter.QXLM`).

lm-eval's evaluator calls ``getattr(lm, request_type)(requests)`` with every request of that type
at once; each method here returns one result per request, in order. The probe tasks in
``lm_eval_tasks/`` emit them through :class:`qxbench.lmeval.probe.ProbeTask`; each request type reads
lm-eval's ``Instance`` s once, at the door (:func:`request_type`), into its typed request
(:mod:`qxbench.probes.typed`), and answers those:

    qx_counterfactual   ExplainRequest   -> selfexplain.Counterfactual
    qx_explain          ExplainRequest   -> selfexplain.Explanation
    qx_memorize         MemorizeRequest  -> MemorizeResult
    qx_multihop         MultiHopRequest  -> MultiHopResult
    qx_next_token       NextTokenRequest -> NextToken
    qx_neurons          NeuronsRequest   -> neurons.NeuronResult

The ``Instance`` s themselves (their ``args``: what lm-eval logs and ``--use_cache`` keys) go only to
:mod:`qxbench.lmeval.resume`.
"""

from __future__ import annotations

import functools
import time
import typing
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import torch

from qxbench import progress
from qxbench.engine import chat
from qxbench.engine.forward import rows_per_batch
from qxbench.engine.generate import generate
from qxbench.errors import QxError
from qxbench.interp.internals import compute_dtype
from qxbench.lmeval import resume
from qxbench.probes import attribution, multihop, neurons, nexttoken, refcache, selfexplain
from qxbench.probes.attribution import Attribution
from qxbench.probes.results import MemorizeResult, MultiHopResult, NextToken
from qxbench.probes.typed import ExplainRequest, MemorizeRequest, MultiHopRequest, NeuronsRequest, NextTokenRequest

RECALL_TOKENS = 32  # greedy answers for recall accuracy (TwoHopFact: up to 32 new tokens)


def _chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, start + size)


def _grouped(requests: Sequence[Any], run: Callable[[list[Any]], list[Any]]) -> list[Any]:
    """``run`` on each group of typed requests with the same ``group`` (options and chat settings); the results
    back in request order."""
    groups: dict[Any, list[int]] = {}
    for i, r in enumerate(requests):
        groups.setdefault(r.group, []).append(i)
    out: list[Any] = [None] * len(requests)
    for index in groups.values():
        for i, result in zip(index, run([requests[i] for i in index]), strict=True):
            out[i] = result
    return out


Method = TypeVar("Method", bound=Callable[..., list[Any]])


def request_type(read: Callable[[Any], Any], *, per_document: bool = True) -> Callable[[Method], Method]:
    """A probe request type: the method takes typed requests (``read`` makes one of an ``Instance``, once per
    answered chunk), its phases' bars are titled with the requests' task names, under
    ``--use_cache`` its answers are cached and resumed by document (:mod:`qxbench.lmeval.resume`)
    (``per_document=False`` where an answer depends on the other documents: cached whole; a kept answer
    must fit the method's declared ``list[X]`` return type), and its
    seconds and its phases' are counted on the model's clocks under those task names
    (:meth:`ProbeRequests.take_seconds`)."""
    def wrap(method: Method) -> Method:
        (result,) = typing.get_args(typing.get_type_hints(method)["return"])  # list[X]: a kept answer must be an X

        @functools.wraps(method)
        def answer(self: Any, requests: list[Any]) -> list[Any]:
            label = ", ".join(sorted({str(getattr(r, "task_name", None) or method.__name__) for r in requests}))
            # Under data parallelism lm-eval pads a rank's requests with copies of its last one: answered once
            unique = list({id(r): r for r in requests}.values())
            probes, phases = self._clocks()
            start = time.perf_counter()
            with progress.scope(label, phases):
                results = resume.answer(self, method.__name__, unique,
                                        lambda part: method(self, [read(r) for r in part]),
                                        chunk=self._probe_batch() if per_document else None, result=result)
            probes.add(label, time.perf_counter() - start)
            by_request = {id(r): result for r, result in zip(unique, results, strict=True)}
            return [by_request[id(r)] for r in requests]

        return answer  # type: ignore[return-value]

    return wrap


class ProbeRequests:
    """Needs the HFLM attributes ``model``, ``tokenizer``, ``tok_encode``, ``_encode_pair``,
    ``batch_size``, ``max_length``, and ``reference_lm()`` and ``cache_identity()`` methods."""

    _run_clocks: tuple[progress.Clock, progress.Clock] | None = None  # request types', phases' (per model)

    def reference_lm(self) -> Any | None:  # overridden by QXLM
        return None

    def is_own_reference(self) -> bool:  # overridden by QXLM
        """Whether this model is its own full-precision reference (then ``reference_lm()`` returns it)."""
        return False

    def reference(self) -> selfexplain.Reference:
        """The reference as the probes take it: the model and whether it is this one (stated, not inferred)."""
        return selfexplain.Reference(self.reference_lm(), self.is_own_reference())

    def _clocks(self) -> tuple[progress.Clock, progress.Clock]:
        """This model's clocks: the seconds of each request type, and of each phase (the reference's work
        on this model's requests included), made on first use."""
        if self._run_clocks is None:
            self._run_clocks = (progress.Clock(), progress.Clock())
        return self._run_clocks

    def take_seconds(self) -> dict[str, dict[str, float]]:
        """``probe_seconds`` (each request type's, keyed by its tasks' names) and ``phase_seconds`` (each
        phase's, keyed by its bar's title) since the last call; the count starts again."""
        probes, phases = self._clocks()
        return {"probe_seconds": probes.take(), "phase_seconds": phases.take()}

    # -- helpers ------------------------------------------------------------------------------
    def _probe_batch(self) -> int:
        """The run's batch size as the probes read it (one parse: :func:`~qxbench.engine.forward.rows_per_batch`)."""
        return rows_per_batch(self)

    def _pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id  # type: ignore[attr-defined]
        return int(pad if pad is not None else self.eot_token_id)  # type: ignore[attr-defined]

    def _ids(self, prompt: str) -> list[int]:
        return self.tok_encode(prompt)[-self.max_length:]  # type: ignore[attr-defined]

    def _first_token(self, prompt: str, answer: str) -> int:
        """The first token of the answer tokenized on its own, with a leading space, as the references
        do (latent-multi-hop-reasoning ``src/tokenization_utils.py:87-101`` after
        ``inspect_latent_reasoning.py:187-196``; neuron-attribution's gold token): never a bare space
        when the prompt ends in whitespace. A SentencePiece tokenizer that already marks a word start
        (``▁Rome``) gets no extra space (the reference's ``requires_prepending_space``)."""
        if not answer.strip():
            raise QxError(f"The answer to {prompt!r} is empty ({answer!r}): a probe needs a non-empty answer")
        text = answer.strip()
        tokenizer = self.tokenizer  # type: ignore[attr-defined]
        bare = tokenizer.convert_ids_to_tokens(tokenizer.encode("Rome", add_special_tokens=False)[:1])
        if not (bare and bare[0].startswith("▁")):
            text = " " + text
        return int(tokenizer.encode(text, add_special_tokens=False)[0])

    def choice_loglikelihoods(self, contexts: Sequence[str], continuations: Sequence[Sequence[str]],
                              groups: Sequence[Any] | None = None, batch_size: int | None = None) -> list[list[float]]:
        """Each context's continuations, shared prompt parts run once (:mod:`qxbench.engine.choices`), about
        ``batch_size`` contexts per batch (the run's batch size by default)."""
        from qxbench.engine.choices import choice_loglikelihoods

        size = batch_size or self._probe_batch()
        return choice_loglikelihoods(self, contexts, continuations, size, self._pad_id(), groups)

    def _greedy(self, prompts: Sequence[str], settings: chat.Chat, unit: str = "doc") -> list[str]:
        """Greedy answers to ``prompts`` under the requests' chat ``settings`` (:mod:`qxbench.engine.chat`)."""
        return generate(self, prompts, RECALL_TOKENS, title="greedy answers", unit=unit, chat=settings)

    # -- request types ---------------------------------------------------------------------------
    @request_type(ExplainRequest.read)
    def qx_counterfactual(self, requests: list[ExplainRequest]) -> list[selfexplain.Counterfactual]:
        return _grouped(requests, self._counterfactual)

    def _counterfactual(self, requests: list[ExplainRequest]) -> list[selfexplain.Counterfactual]:
        """The prompts carry the requests' chat settings: the judge (reference) reads them as this model does,
        each through its own tokenizer's template."""
        first = requests[0]
        prompts = first.options.prompt_set(first.chat)
        return selfexplain.counterfactuals(self, [r.doc for r in requests], self.reference(), prompts)

    @request_type(ExplainRequest.read)
    def qx_explain(self, requests: list[ExplainRequest]) -> list[selfexplain.Explanation]:
        return _grouped(requests, self._explain)

    def _explain(self, requests: list[ExplainRequest]) -> list[selfexplain.Explanation]:
        first = requests[0]
        return selfexplain.explanations(self, [r.doc for r in requests], first.options.prompt_set(first.chat),
                                        first.options.insertion_words, first.options.insertion_positions)

    def _attributions(self, prompts: Sequence[str], answers: Sequence[str], options: attribution.AttributionOptions,
                      thresholds: Sequence[Sequence[float]] | None = None, title: str = "attribution"
                      ) -> list[Attribution]:
        ids = [self._ids(p) for p in prompts]
        gold = [self._first_token(p, a) for p, a in zip(prompts, answers, strict=True)]
        return self._attribute_ids(ids, gold, options, thresholds, title)

    def _attribute_ids(self, ids: Sequence[list[int]], gold: Sequence[int], options: attribution.AttributionOptions,
                       thresholds: Sequence[Sequence[float]] | None = None, title: str = "attribution"
                       ) -> list[Attribution]:
        model = self.model  # type: ignore[attr-defined]
        weights = attribution.down_weights(model)
        out: list[Attribution] = []
        with progress.phase(title, len(ids)) as bar:
            for part in _chunks(len(ids), self._probe_batch()):
                out += attribution.attribute(model, ids[part], gold[part], options, weights, self._pad_id(),
                                             thresholds[part] if thresholds else None)
                bar.advance(len(ids[part]))
        return out

    def _full_precision(self, prompts: Sequence[str], answers: Sequence[str], options: attribution.AttributionOptions,
                        read: bool, title: str) -> tuple[list[Attribution], list[bool]]:
        """This full-precision model's attributions, kept in :mod:`qxbench.probes.refcache` for the other
        configs of a sweep; ``read``: as a reference, read back where kept (and whether each one was)."""
        identity = self.cache_identity()  # type: ignore[attr-defined]
        identity = {"qxbench": identity["qxbench"], "model": identity["model"], "fingerprint": identity["fingerprint"],
                    "dtype": str(compute_dtype(self.model)), "options": options.as_dict()}  # type: ignore[attr-defined]
        ids = [self._ids(p) for p in prompts]
        gold = [self._first_token(p, a) for p, a in zip(prompts, answers, strict=True)]
        return refcache.cached(identity, ids, gold, read, lambda index: self._attribute_ids(
            [ids[i] for i in index], [gold[i] for i in index], options, title=title))

    @request_type(MemorizeRequest.read)
    def qx_memorize(self, requests: list[MemorizeRequest]) -> list[MemorizeResult]:
        """Requests of tasks with different options or chat settings are answered group by group."""
        return _grouped(requests, self._memorize)

    def _memorize(self, requests: list[MemorizeRequest]) -> list[MemorizeResult]:
        prompts = [r.prompt for r in requests]
        answers = [r.answer for r in requests]
        options = requests[0].options
        completions = self._greedy(prompts, requests[0].chat)  # the attribution reads the raw prompt (chat.py)
        judge = self.reference()
        reference = judge.lm
        cached: list[bool | None] = [None] * len(prompts)
        if reference is None:
            refs: list[Attribution | None] = [None] * len(prompts)
            mine = self._attributions(prompts, answers, options)
        elif judge.is_config:  # its own tau: surviving counts its own neurons >= its 300th score
            mine, _ = self._full_precision(prompts, answers, options, read=False, title="attribution")
            refs = list(mine)
        else:  # the reference first: its tau is a threshold this model's neurons are counted against
            found, hits = reference._full_precision(prompts, answers, options, read=True,
                                                    title="reference attribution")
            refs, cached = list(found), list(hits)
            mine = self._attributions(prompts, answers, options, [[r.tau] for r in found])
        return [
            MemorizeResult(c, a, *((None, None) if r is None else (
                (a.at_tau if r is a else a.at_least.get(r.tau)) if r.top else None,
                attribution.top_k_overlap(a.top, r.top))),
                options.as_dict(), hit)
            for c, a, r, hit in zip(completions, mine, refs, cached, strict=True)
        ]

    @request_type(MultiHopRequest.read)
    @torch.no_grad()
    def qx_multihop(self, requests: list[MultiHopRequest]) -> list[MultiHopResult]:
        rows = [r.row for r in requests]
        probes: list[multihop.MultiHop] = []
        with progress.phase("EntRec, CnstScore", len(rows)) as bar:
            for part in _chunks(len(rows), self._probe_batch()):
                batch = rows[part]
                cut = [r["r2(r1(e1)).subject_cut.prompt"] for r in batch]
                probes += multihop.probe(
                    self.model,  # type: ignore[attr-defined]
                    [self._ids(p) for p in cut],
                    [self._ids(r["r2(r1(e1)).prompt"]) for r in batch],
                    [self._ids(r["r2(e2).prompt"]) for r in batch],
                    [self._first_token(p, r["e2.value"]) for p, r in zip(cut, batch, strict=True)],
                    self._pad_id(),
                )
                bar.advance(len(batch))
        columns = ("r1(e1).prompt", "r2(e2).prompt", "r2(r1(e1)).prompt")
        texts = self._greedy([r[c] for c in columns for r in rows], requests[0].chat, unit="prompt")  # EntRec and
        # CnstScore above read the raw prompts (chat.py)
        n = len(rows)
        keys = [c.removesuffix(".prompt") for c in columns]
        return [MultiHopResult(p.entrec, p.cnst, {key: texts[k * n + i] for k, key in enumerate(keys)})
                for i, p in enumerate(probes)]

    @request_type(NextTokenRequest.read)
    def qx_next_token(self, requests: list[NextTokenRequest]) -> list[NextToken]:
        """The calib probe (:mod:`qxbench.probes.nexttoken`), group by group."""
        return _grouped(requests, lambda group: nexttoken.answer(self, group))

    @request_type(NeuronsRequest.read, per_document=False)
    def qx_neurons(self, requests: list[NeuronsRequest]) -> list[neurons.NeuronResult]:
        """Corpus statistics are per task (its documents, on every rank under data parallelism)."""
        def run(group: list[NeuronsRequest]) -> list[neurons.NeuronResult]:
            texts = [self._ids(r.text) for r in group]
            return neurons.analyse(self.model, self.tokenizer, texts, group[0].options,  # type: ignore[attr-defined]
                                   self._probe_batch(), self._pad_id(),  # two phases, one step per document
                                   keys=[i if r.doc_id is None else r.doc_id for i, r in enumerate(group)])

        return _grouped(requests, run)
