"""Calibration applied at inference: bias-corrected temperature scaling (BCTS).

The model's class log-probabilities are divided by a temperature and shifted by one bias per
class, then renormalised: `softmax(log(q) / T + b)`. For a binary model this is Platt scaling
of its logit. BCTS is what prior re-estimation on live traffic (EM, Saerens et al. 2002)
needs from a model: probabilities that mean what they say under a known training prior
(Alexandari, Kundaje & Shrikumar 2020). A bundle without a `calibration` entry is used as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

FLOOR = 1e-7  # keeps log() finite for quantised outputs that round to exactly 0 or 1


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    bias: tuple[float, ...] = ()

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> Calibration:
        entry = metadata.get("calibration") or {}
        return cls(float(entry.get("temperature", 1.0)), tuple(entry.get("bias", ())))

    def apply(self, probabilities: np.ndarray) -> np.ndarray:
        """Calibrated (n, k) probabilities from the model's (n, k) class probabilities."""
        logits = np.log(np.clip(probabilities.astype(np.float64), FLOOR, 1.0)) / self.temperature
        if self.bias:
            logits = logits + np.asarray(self.bias)
        return softmax(logits)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
