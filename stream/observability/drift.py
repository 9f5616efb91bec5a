"""How live traffic compares with what the model was trained on, over recent predictions.

PSI (population stability index) compares the histogram of recent scores with the reference
histogram stored in the bundle; a PSI above ~0.2 is the usual sign that inputs have moved.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

import numpy as np

EPSILON = 1e-4  # empty bins would make PSI infinite


def psi(reference: Sequence[float], actual: Sequence[float]) -> float:
    total = 0.0
    for expected_share, actual_share in zip(reference, actual, strict=True):
        e, a = max(expected_share, EPSILON), max(actual_share, EPSILON)
        total += (a - e) * math.log(a / e)
    return total


class DriftMonitor:
    def __init__(self, reference_histogram: Sequence[float], window: int):
        self.reference = list(reference_histogram)
        self._scores: deque[float] = deque(maxlen=window)
        self._negative: deque[bool] = deque(maxlen=window)

    def observe(self, scores: Sequence[float], negative: Sequence[bool]) -> None:
        """`scores`: the model's own p(positive) against negative, as in the reference;
        `negative`: whether each tweet was labelled negative (after the live correction)."""
        self._scores.extend(scores)
        self._negative.extend(negative)

    @property
    def histogram(self) -> list[float]:
        counts, _ = np.histogram(
            np.fromiter(self._scores, dtype=np.float64), bins=len(self.reference), range=(0, 1)
        )
        return [float(c) / max(1, len(self._scores)) for c in counts]

    @property
    def psi(self) -> float:
        return psi(self.reference, self.histogram) if self._scores else 0.0

    @property
    def negative_share(self) -> float:
        if not self._negative:
            return 0.0
        return sum(self._negative) / len(self._negative)
