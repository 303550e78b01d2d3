"""Self-generated counterfactuals and explanations, built from lm-eval's own request types.

Each function takes an lm-eval ``LM`` (the ``qx`` model) and a list of normalised classification
documents (:mod:`qxbench.probes.classify`) and runs its passes over all documents at once, so every
pass is batched by the model as usual:

counterfactuals: classify -> generate a rewrite towards the runner-up label -> re-classify the
rewrite -> score the rewrite's perplexity (under the model and, when given, a reference model).

explanations: classify -> generate an explanation; insertion test: insert a word into the input,
re-classify and re-explain (Atanasova et al. 2020: if the prediction changes, a faithful
explanation mentions the inserted word).
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lm_eval.api.instance import Instance

from qxbench import progress
from qxbench.probes import greedy
from qxbench.probes.chat import cut_answer
from qxbench.probes.classify import classify_prompt, explain_prompt, rewrite_prompt

REWRITE_TOKENS = 96
EXPLAIN_TOKENS = 64


def _instances(kind: str, args: Sequence[tuple]) -> list[Instance]:
    return [Instance(request_type=kind, doc={}, arguments=a, idx=0) for a in args]


def generate(lm: Any, prompts: Sequence[str], max_tokens: int, title: str = "generate",
             unit: str = "doc") -> list[str]:
    """Greedy answers, each cut at the first line break after non-blank text (:func:`chat.cut_answer`),
    batched by the model's batch size; the prompts are formatted as ``lm.format_prompt`` says
    (the chat template under ``--apply_chat_template``). One progress bar, ``title``, counts prompts in ``unit``s."""
    fmt = getattr(lm, "format_prompt", None) or (lambda p: p)
    size = str(getattr(lm, "batch_size", 8))
    size = int(size) if size.isdigit() and int(size) > 0 else 8
    eos = getattr(lm.tokenizer, "eos_token_id", None)
    out: list[str] = []
    with progress.phase(title, len(prompts), unit) as bar:
        for start in range(0, len(prompts), size):
            texts = [fmt(p) for p in prompts[start:start + size]]
            ids, mask = lm.tok_batch_encode(texts, left_truncate_len=lm.max_length - max_tokens)
            ids, mask = ids.to(lm.device), mask.to(lm.device)
            rows = greedy.greedy(lm.model, ids, mask, max_tokens, greedy.LineEnd(lm.tokenizer, len(texts), eos))
            out += [cut_answer(t) for t in greedy.decode(lm.tokenizer, rows)]
            bar.advance(len(texts))
    return out


def classify(lm: Any, docs: Sequence[Mapping[str, Any]], texts: Sequence[str] | None = None,
             title: str = "classify", unit: str = "doc") -> list[list[float]]:
    """Per document, the log-probability of each choice (`` choice`` after the prompt)."""
    texts = [d["text"] for d in docs] if texts is None else texts
    fmt = getattr(lm, "format_prompt", None) or (lambda p: p)
    args = [(fmt(classify_prompt(d, t)), f" {c}") for d, t in zip(docs, texts, strict=True) for c in d["choices"]]
    with progress.phase(title, len(docs), unit, requests=len(args)):
        flat = [ll for ll, _ in lm.loglikelihood(_instances("loglikelihood", args), disable_tqdm=True)]
    out, i = [], 0
    for d in docs:
        out.append(flat[i:i + len(d["choices"])])
        i += len(d["choices"])
    return out


def argmax(values: Sequence[float]) -> int:
    return max(range(len(values)), key=values.__getitem__)


def runner_up(values: Sequence[float]) -> int:
    """The most likely label other than the prediction: the counterfactual's target."""
    best = argmax(values)
    return max((i for i in range(len(values)) if i != best), key=values.__getitem__)


def perplexities(lm: Any, texts: Sequence[str], title: str = "perplexity") -> list[float]:
    """Token-level perplexity of each text (rolling loglikelihood); NaN for an empty text. The bar
    counts one request per text (a text longer than the model's context sends more: it waits at the end)."""
    todo = [i for i, t in enumerate(texts) if t.strip()]
    with progress.phase(title, len(texts), requests=len(todo)):
        lls = lm.loglikelihood_rolling(_instances("loglikelihood_rolling", [(texts[i],) for i in todo]),
                                       disable_tqdm=True)
    out = [math.nan] * len(texts)
    for i, ll in zip(todo, lls, strict=True):
        out[i] = math.exp(-ll / max(1, len(lm.tok_encode(texts[i]))))
    return out


@dataclass(frozen=True)
class Counterfactual:
    pred: int
    target: int
    rewrite: str
    rewrite_pred: int | None  # None for an empty rewrite (nothing to classify)
    ppl: float
    ref_ppl: float | None  # None when no reference model is given


def counterfactuals(lm: Any, docs: Sequence[Mapping[str, Any]], reference: Any | None = None) -> list[Counterfactual]:
    scores = classify(lm, docs)
    preds = [argmax(s) for s in scores]
    targets = [runner_up(s) for s in scores]
    prompts = [rewrite_prompt(d, p, t) for d, p, t in zip(docs, preds, targets, strict=True)]
    rewrites = [r.strip() for r in generate(lm, prompts, REWRITE_TOKENS, title="rewrite")]
    nonempty = [i for i, r in enumerate(rewrites) if r]
    re_scores = classify(lm, [docs[i] for i in nonempty], [rewrites[i] for i in nonempty], title="classify rewrites")
    rewrite_preds: list[int | None] = [None] * len(docs)
    for i, s in zip(nonempty, re_scores, strict=True):
        rewrite_preds[i] = argmax(s)
    ppl = perplexities(lm, rewrites)
    ref_ppl: list[float | None] = [None] * len(docs)
    if reference is lm:  # full precision is its own reference: the same numbers
        ref_ppl = list(ppl)
    elif reference is not None:
        ref_ppl = list(perplexities(reference, rewrites, title="reference perplexity"))
    return [Counterfactual(*row) for row in zip(preds, targets, rewrites, rewrite_preds, ppl, ref_ppl, strict=True)]


def insert_word(text: str, words: Sequence[str], seed_text: str | None = None) -> tuple[str, str]:
    """Insert one of ``words`` before a word of ``text``; the choice is seeded by the text itself,
    so every model sees the same perturbation."""
    rng = random.Random(zlib.crc32((seed_text or text).encode()))
    word = rng.choice(list(words))
    tokens = text.split(" ")
    at = rng.randrange(len(tokens)) if tokens else 0
    return " ".join([*tokens[:at], word, *tokens[at:]]), word


@dataclass(frozen=True)
class Explanation:
    pred: int
    explanation: str
    inserted: str
    inserted_pred: int
    inserted_explanation: str


def explanations(lm: Any, docs: Sequence[Mapping[str, Any]]) -> list[Explanation]:
    perturbed = [insert_word(d["text"], d["insert_words"]) for d in docs]
    both = classify(lm, [*docs, *docs], [*(d["text"] for d in docs), *(p for p, _ in perturbed)],
                    title="classify (as given, word inserted)", unit="text")
    preds = [argmax(s) for s in both]
    n = len(docs)
    prompts = [explain_prompt(d, preds[i]) for i, d in enumerate(docs)]
    prompts += [explain_prompt(d, preds[n + i], perturbed[i][0]) for i, d in enumerate(docs)]
    texts = [t.strip() for t in generate(lm, prompts, EXPLAIN_TOKENS, title="explain", unit="text")]
    return [Explanation(preds[i], texts[i], perturbed[i][1], preds[n + i], texts[n + i]) for i in range(n)]
