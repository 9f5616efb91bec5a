"""Scores texts with a bundle's TFLite model through LiteRT (no TensorFlow at inference).

A binary bundle's model gives p(positive). A three-class bundle (metadata `classes`
negative, neutral, positive) adds `neutral_model`, a second TFLite file over the same ids
that gives p(neutral); the polarity model then reads as p(positive | not neutral). Both are
calibrated with the bundle's `calibration` (model/calibration.py).

A bundle reads one `language` (metadata, "en" when absent); `routes` maps other languages to
sub-bundles of their own (model/use_head.py) with the same classes, which score that
language's texts when the caller says which language each text is in.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from model.bundle import DEFAULT_BUNDLE, Encoder, read_encoder, read_metadata
from model.calibration import Calibration
from model.language import LanguageDetector
from model.use_head import EmbeddingHeadModel

BINARY_CLASSES = ("negative", "positive")


def row_plan(rows: int, sizes: Sequence[int]) -> list[tuple[int, int]]:
    """(rows taken, compiled size) per invocation: the largest size that the remaining rows
    fill, and the last rows padded to a size they fill but for fewer than `min(sizes)` rows
    (63 rows: one invocation of 64, not 32 + 16 + 8 + 8; each invocation has a fixed cost), so
    at most `min(sizes) - 1` padding rows are scored in a batch."""
    plan: list[tuple[int, int]] = []
    while rows > 0:
        padded = [size for size in sizes if 0 <= size - rows < min(sizes)]
        if padded:
            plan.append((rows, min(padded)))
            break
        size = max((size for size in sizes if size <= rows), default=min(sizes))
        taken = min(rows, size)
        plan.append((taken, size))
        rows -= taken
    return plan


class _Graph:
    """One TFLite model over [rows, max_len] ids, one score per row.

    Bundles are exported with a static batch, but the recurrent ones' ops take any: a batch
    then runs as chunks of `ROW_SIZES` rows (`row_plan`), one interpreter per size made on
    first use, all sharing the model's bytes. A row costs the same at 8 rows as at 256 (about
    110 us for the BiLSTM), so cost follows the batch: a batch of 5 costs 8 rows, one of 100
    costs 104, where a 256-row chunk would have cost 256. A graph whose ops are fixed to the
    exported batch (the linear baseline's reshape, the transformer) runs at that size.
    """

    ROW_SIZES = (8, 16, 32, 64)  # each size is an interpreter with its own packed weights

    def __init__(self, path: Path, num_threads: int) -> None:
        self._model = path.read_bytes()
        self._num_threads = num_threads
        self._interpreters: dict[int, tuple[Interpreter, int, int]] = {}
        # one interpreter is not safe to invoke from two threads (the stream and /predict)
        self._invoke_lock = threading.Lock()
        exported = Interpreter(model_content=self._model, num_threads=num_threads)
        exported_rows, self._width = (int(n) for n in exported.get_input_details()[0]["shape"])
        self._sizes = self.ROW_SIZES if self._resizable() else (exported_rows,)

    def scores(self, ids: np.ndarray) -> np.ndarray:
        scores = np.empty(len(ids), dtype=np.float32)
        start = 0
        with self._invoke_lock:
            for rows, size in row_plan(len(ids), self._sizes):
                scores[start : start + rows] = self._run(ids[start : start + rows], size)
                start += rows
        return scores

    def _run(self, chunk: np.ndarray, size: int) -> np.ndarray:
        rows = len(chunk)
        interpreter, input_index, output_index = self._interpreter(size)
        if rows < size:
            chunk = np.vstack([chunk, np.zeros((size - rows, self._width), np.int32)])
        interpreter.set_tensor(input_index, chunk)
        interpreter.invoke()
        return interpreter.get_tensor(output_index).reshape(-1)[:rows]

    def _resizable(self) -> bool:
        try:
            self._interpreter(self.ROW_SIZES[0])
        except RuntimeError:  # an op's shape is fixed to the exported batch
            self._interpreters.clear()
            return False
        return True

    def _interpreter(self, rows: int) -> tuple[Interpreter, int, int]:
        if rows not in self._interpreters:
            interpreter = Interpreter(model_content=self._model, num_threads=self._num_threads)
            input_index = interpreter.get_input_details()[0]["index"]
            interpreter.resize_tensor_input(input_index, [rows, self._width], strict=False)
            interpreter.allocate_tensors()
            output_index = interpreter.get_output_details()[0]["index"]
            self._interpreters[rows] = (interpreter, input_index, output_index)
        return self._interpreters[rows]


class SentimentModel:
    """Calibrated class probabilities for a list of texts.

    `train_prior` is the class prior the probabilities are calibrated under (uniform unless
    the metadata says otherwise): the reference a label-shift correction re-weights from.
    Decision rule: binary bundles compare p(positive) with `threshold`; three-class bundles
    take the most probable class. `languages`: the ones a model of the bundle reads."""

    def __init__(self, bundle: Path, metadata: dict[str, Any], num_threads: int = 1) -> None:
        self.bundle = bundle
        self.metadata = metadata
        self.version: str = metadata["version"]
        self.threshold: float = float(metadata["threshold"])
        self.batch_size: int = int(metadata["batch_size"])
        self.classes: tuple[str, ...] = tuple(metadata.get("classes", BINARY_CLASSES))
        prior = metadata.get("train_prior") or [1.0 / len(self.classes)] * len(self.classes)
        self.train_prior: tuple[float, ...] = tuple(float(p) for p in prior)
        self.calibration = Calibration.from_metadata(metadata)
        self.vocabulary: Encoder = read_encoder(bundle, metadata)
        self._polarity = _Graph(bundle / "model.tflite", num_threads)
        neutral_file = metadata.get("neutral_model")
        self._neutral = None if neutral_file is None else _Graph(bundle / neutral_file, num_threads)
        if self.classes not in (BINARY_CLASSES, ("negative", "neutral", "positive")):
            raise ValueError(f"unsupported classes {self.classes} in {bundle}")
        if (self._neutral is None) != (len(self.classes) == 2):
            raise ValueError(f"{bundle}: a three-class bundle needs its neutral_model, only it")
        self.language: str = metadata.get("language", "en")
        self.routes = {
            lang: EmbeddingHeadModel.load(bundle / directory, num_threads)
            for lang, directory in metadata.get("routes", {}).items()
        }
        for lang, route in self.routes.items():
            if route.classes != self.classes or route.language != lang:
                raise ValueError(f"{bundle}: route {lang} is a {route.language} {route.classes}")
        self.languages = frozenset({self.language, *self.routes})
        self.detector = LanguageDetector(self.languages, fallback=self.language)

    @classmethod
    def load(cls, path: Path | None = None, num_threads: int = 1) -> SentimentModel:
        bundle = Path(path) if path is not None else DEFAULT_BUNDLE
        return cls(bundle, read_metadata(bundle), num_threads)

    def raw_classes(self, texts: Sequence[str]) -> np.ndarray:
        """The models' own (n, k) class probabilities, before calibration."""
        ids = self.vocabulary.encode(list(texts))
        positive = self._polarity.scores(ids).astype(np.float64)
        if self._neutral is None:
            return np.column_stack([1.0 - positive, positive])
        neutral = self._neutral.scores(ids).astype(np.float64)
        polar = 1.0 - neutral
        return np.column_stack([polar * (1.0 - positive), neutral, polar * positive])

    def predict_classes(
        self, texts: Sequence[str], langs: Sequence[str] | None = None
    ) -> np.ndarray:
        """Calibrated (n, k) probabilities, columns in the order of `classes`. With `langs`,
        the texts of a routed language go to its model; every other text, and all of them
        without `langs`, to the bundle's own."""
        routed = {} if langs is None else self._rows_by_route(langs)
        if not routed:
            return self.calibration.apply(self.raw_classes(texts))
        probabilities = np.empty((len(texts), len(self.classes)))
        for lang, rows in routed.items():
            model = self.routes.get(lang)
            picked = [texts[row] for row in rows]
            probabilities[rows] = (
                self.calibration.apply(self.raw_classes(picked))
                if model is None
                else model.predict_classes(picked)
            )
        return probabilities

    def _rows_by_route(self, langs: Sequence[str]) -> dict[str | None, list[int]]:
        """Row numbers per routed language (None: the bundle's own model); empty when every
        row is the bundle's own."""
        rows: dict[str | None, list[int]] = {}
        for row, lang in enumerate(langs):
            rows.setdefault(lang if lang in self.routes else None, []).append(row)
        return rows if set(rows) - {None} else {}

    def languages_of(self, texts: Sequence[str], claimed: Sequence[str | None]) -> list[str]:
        """Each text's language: the producer's claim when it is a language code, else
        detected (model/language.py)."""
        return self.detector.resolve(texts, claimed)

    def version_of(self, lang: str) -> str:
        """The version of the model that reads `lang`."""
        route = self.routes.get(lang)
        return self.version if route is None else route.version

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """p(positive) against negative, compared with `threshold`: the binary score of old
        callers. For a three-class bundle it is p(positive | not neutral)."""
        return positive_share(self.predict_classes(texts), self.classes)

    def labels(self, probabilities: np.ndarray) -> list[str]:
        """The bundle's decision rule over `predict_classes` rows."""
        return decision(self.classes, probabilities, self.threshold)

    def oov_rate(self, texts: Sequence[str]) -> float:
        """Share of the tokens the model sees that its vocabulary does not know: live text
        drifting away from the training text shows here first."""
        ids = self.vocabulary.encode(list(texts))
        tokens = int((~np.isin(ids, list(self.vocabulary.marker_ids))).sum())
        return float((ids == self.vocabulary.oov_id).sum()) / tokens if tokens else 0.0

    def label_for(self, p_positive: float) -> str:
        return binary_label(p_positive, self.threshold)


def binary_label(p_positive: float, threshold: float) -> str:
    return "positive" if p_positive >= threshold else "negative"


def decision(classes: Sequence[str], probabilities: np.ndarray, threshold: float) -> list[str]:
    """A bundle's decision rule: p(positive) against negative at or above `threshold` for a
    binary model, the most probable class otherwise. The worker, /predict and offline scoring
    all label through it."""
    if len(classes) == 2:
        shares = positive_share(probabilities, tuple(classes))
        return [binary_label(p, threshold) for p in shares]
    return [classes[i] for i in probabilities.argmax(axis=1)]


def positive_share(probabilities: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    """p(positive) / (p(positive) + p(negative)) of each row, as float32."""
    positive = probabilities[:, classes.index("positive")]
    negative = probabilities[:, classes.index("negative")]
    return (positive / np.maximum(positive + negative, 1e-12)).astype(np.float32)
