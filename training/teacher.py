"""Distillation targets: a teacher's p(positive) for each training row, tied to the data.

The transformer writes them while its training vectors are cached; the fast model blends
them into its labels. The scores are stored with the hash of the rows they belong to, so a
file from another data version or `--limit` fails loudly instead of misaligning labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.data import Example, data_hash

TEACHER_FILE = "teacher_scores.npz"


def save_teacher_scores(path: Path, scores: np.ndarray, train: list[Example]) -> Path:
    if len(scores) != len(train):
        raise ValueError(f"{len(scores)} teacher scores for {len(train)} training rows")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:  # a handle keeps numpy from appending ".npz"
        np.savez(handle, scores=scores.astype(np.float32), data_sha256=data_hash(train))
    return path


def load_teacher_scores(path: Path, train: list[Example]) -> np.ndarray:
    with np.load(path) as stored:
        if str(stored["data_sha256"]) != data_hash(train):
            raise ValueError(f"{path} was scored on other training rows than these")
        return stored["scores"]


def blend_targets(hard: np.ndarray, soft: np.ndarray, soft_weight: float) -> np.ndarray:
    """`(1-w)*hard + w*soft`: the teacher's confidence tells the student which tweets are
    ambiguous, which 0/1 labels (noisy on Sentiment140) cannot."""
    if soft.shape != hard.shape:
        raise ValueError(f"soft targets {soft.shape} do not match training rows {hard.shape}")
    if not 0.0 <= soft_weight <= 1.0:
        raise ValueError(f"soft_weight must be in [0, 1], got {soft_weight}")
    soft = np.clip(soft.astype(np.float32), 0.0, 1.0)
    return ((1.0 - soft_weight) * hard + soft_weight * soft).astype(np.float32)
