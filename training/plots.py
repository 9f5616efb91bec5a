"""Confusion matrix, ROC and precision-recall PNGs of one model on the held-out test set."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: training runs on servers and in CI

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    RocCurveDisplay,
)

PLOTS = ("confusion_matrix.png", "roc_curve.png", "precision_recall_curve.png")


def write_plots(
    directory: Path, labels: np.ndarray, scores: np.ndarray, threshold: float, title: str
) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / name for name in PLOTS]
    drawers = (
        lambda ax: ConfusionMatrixDisplay.from_predictions(
            labels,
            (scores >= threshold).astype(int),
            display_labels=["negative", "positive"],
            ax=ax,
            colorbar=False,
        ),
        lambda ax: RocCurveDisplay.from_predictions(labels, scores, ax=ax, name=title),
        lambda ax: PrecisionRecallDisplay.from_predictions(labels, scores, ax=ax, name=title),
    )
    for path, draw in zip(paths, drawers, strict=True):
        figure, axes = plt.subplots(figsize=(5, 4))
        draw(axes)
        axes.set_title(f"{title}: {path.stem.replace('_', ' ')} (held-out test)")
        figure.tight_layout()
        figure.savefig(path, dpi=90)
        plt.close(figure)
    return paths
