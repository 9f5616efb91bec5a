"""Metrics of a scorer on labelled examples, computed through the real LiteRT path."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

from model import SentimentModel
from training.data import Example


def classification_metrics(
    labels: np.ndarray, scores: np.ndarray, threshold: float
) -> dict[str, float]:
    predicted = (scores >= threshold).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, predicted, labels=[0, 1], zero_division=0
    )
    metrics = {"accuracy": float(accuracy_score(labels, predicted)), "n": float(len(labels))}
    for index, name in enumerate(("negative", "positive")):
        metrics[f"precision_{name}"] = float(precision[index])
        metrics[f"recall_{name}"] = float(recall[index])
        metrics[f"f1_{name}"] = float(f1[index])
    metrics["roc_auc"] = float(roc_auc_score(labels, scores)) if len(set(labels)) > 1 else 0.5
    return metrics


def evaluate(model: SentimentModel, examples: Sequence[Example]) -> dict[str, float]:
    labels = np.array([e.label for e in examples])
    scores = model.predict_proba([e.text for e in examples])
    return classification_metrics(labels, scores, model.threshold)


def best_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The cut that maximises accuracy on validation data (never on test data)."""
    candidates = np.linspace(0.2, 0.8, 61)
    accuracy = [float(((scores >= c).astype(int) == labels).mean()) for c in candidates]
    return round(float(candidates[int(np.argmax(accuracy))]), 3)


def score_histogram(scores: np.ndarray, bins: int = 10) -> list[float]:
    """Share of scores per equal-width bin of [0, 1]: the drift reference of a bundle."""
    counts, _ = np.histogram(scores, bins=bins, range=(0.0, 1.0))
    return [round(float(c) / max(1, len(scores)), 6) for c in counts]
