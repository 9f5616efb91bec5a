"""Confusion matrix, ROC, precision-recall and reliability PNGs of one model on the held-out
test set."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: training runs on servers and in CI

import matplotlib.pyplot as plt
import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    RocCurveDisplay,
)

PLOTS = ("confusion_matrix.png", "roc_curve.png", "precision_recall_curve.png", "reliability.png")
RELIABILITY_BINS = 15


def draw_reliability(
    ax: plt.Axes, labels: np.ndarray, scores: np.ndarray, uncalibrated: np.ndarray
) -> None:
    """Observed share of positives against p(positive), per bin, before and after the
    bundle's calibration: on the diagonal, a score means what it says."""
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfectly calibrated")
    for name, values in (("uncalibrated", uncalibrated), ("calibrated", scores)):
        observed, predicted = calibration_curve(labels, values, n_bins=RELIABILITY_BINS)
        ax.plot(predicted, observed, marker="o", label=name)
    ax.set_xlabel("p(positive)")
    ax.set_ylabel("share of positive tweets")
    ax.legend(loc="upper left")


def write_plots(
    directory: Path,
    labels: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    title: str,
    uncalibrated: np.ndarray | None = None,
) -> list[Path]:
    """`uncalibrated`: the scores before the bundle's calibration (default: `scores`)."""
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
        lambda ax: draw_reliability(
            ax, labels, scores, scores if uncalibrated is None else uncalibrated
        ),
    )
    for path, draw in zip(paths, drawers, strict=True):
        figure, axes = plt.subplots(figsize=(5, 4))
        draw(axes)
        axes.set_title(f"{title}: {path.stem.replace('_', ' ')} (held-out test)")
        figure.tight_layout()
        figure.savefig(path, dpi=90)
        plt.close(figure)
    return paths
