"""Scores texts with a bundle's TFLite model through LiteRT (no TensorFlow at inference)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from model.bundle import DEFAULT_BUNDLE, Encoder, read_encoder, read_metadata


class SentimentModel:
    """p(positive) for a list of texts, run in chunks of the model's static batch size."""

    def __init__(self, bundle: Path, metadata: dict[str, Any], num_threads: int = 1) -> None:
        self.bundle = bundle
        self.metadata = metadata
        self.version: str = metadata["version"]
        self.threshold: float = float(metadata["threshold"])
        self.batch_size: int = int(metadata["batch_size"])
        self.classes: tuple[str, ...] = tuple(metadata.get("classes", ("negative", "positive")))
        self.train_prior: np.ndarray = np.asarray(
            metadata.get("train_prior", [1 / len(self.classes)] * len(self.classes)), dtype=float
        )
        self.vocabulary: Encoder = read_encoder(bundle, metadata)
        self._interpreter = Interpreter(
            model_path=str(bundle / "model.tflite"), num_threads=num_threads
        )
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        # one interpreter is not safe to invoke from two threads (the stream and /predict)
        self._invoke_lock = threading.Lock()

    @classmethod
    def load(cls, path: Path | None = None, num_threads: int = 1) -> SentimentModel:
        bundle = Path(path) if path is not None else DEFAULT_BUNDLE
        return cls(bundle, read_metadata(bundle), num_threads)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        ids = self.vocabulary.encode(list(texts))
        scores = np.empty(len(texts), dtype=np.float32)
        with self._invoke_lock:
            for start in range(0, len(texts), self.batch_size):
                chunk = ids[start : start + self.batch_size]
                scores[start : start + len(chunk)] = self._run(chunk)
        return scores

    def predict_classes(self, texts: Sequence[str]) -> np.ndarray:
        """(n, k) probabilities in `classes` order, calibrated under `train_prior`."""
        p_positive = self.predict_proba(texts).astype(float)
        return np.column_stack([1.0 - p_positive, p_positive])

    def _run(self, chunk: np.ndarray) -> np.ndarray:
        """The model's input shape is static: pad the last chunk, drop the padding's scores."""
        rows = len(chunk)
        if rows < self.batch_size:
            chunk = np.vstack([chunk, np.zeros((self.batch_size - rows, chunk.shape[1]), np.int32)])
        self._interpreter.set_tensor(self._input, chunk)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output).reshape(-1)[:rows]

    def oov_rate(self, texts: Sequence[str]) -> float:
        """Share of the tokens the model sees that its vocabulary does not know: live text
        drifting away from the training text shows here first."""
        ids = self.vocabulary.encode(list(texts))
        tokens = int((~np.isin(ids, list(self.vocabulary.marker_ids))).sum())
        return float((ids == self.vocabulary.oov_id).sum()) / tokens if tokens else 0.0

    def label_for(self, p_positive: float) -> str:
        return "positive" if p_positive >= self.threshold else "negative"
