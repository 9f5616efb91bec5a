"""Stand-in models that say one thing whatever the text: which one scored is then plain."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from stream.pipeline.scoring import OneModelScorer
from stream.records import RawRecord


class OneLabelScorer(OneModelScorer):
    classes = ("negative", "positive")
    threshold = 0.5
    train_prior = np.array([0.5, 0.5])
    language = "en"
    languages = frozenset({"en"})

    def __init__(self, version: str, p_positive: float) -> None:
        self.version = version
        self._p = p_positive

    def predict_classes(
        self, texts: Sequence[str], langs: Sequence[str] | None = None
    ) -> np.ndarray:
        return np.tile([1 - self._p, self._p], (len(texts), 1))


def raw_tweets(*ids: str, partition: int = 0) -> list[RawRecord]:
    return [
        RawRecord("tweets.raw", partition, offset, None, json.dumps({"id": i, "text": i}).encode())
        for offset, i in enumerate(ids)
    ]


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now
