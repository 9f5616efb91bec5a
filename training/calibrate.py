"""Fits a bundle's calibration on human-labelled rows no model trains or is judged on, and
measures what it changes.

The rows are SemEval-2013's dev split (`Corpus.calibration`): every test set stays frozen.
Classes are weighted equally in the fit, so the calibrated probabilities hold under a
uniform training prior (metadata `train_prior`), the reference from which the worker can
re-weight them to the live traffic's prior. The binary threshold is picked again, on
validation rows, on the calibrated scale; the drift reference histogram too.

Reproduce: `badbuzz train calibrate model/default`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from model import SentimentModel
from model.bundle import read_metadata
from model.calibration import Calibration
from model.scorer import positive_share
from training.data import DEFAULT_DATA_DIR, NEUTRAL, Corpus, Example, load_corpus, polar
from training.evaluate import best_threshold, classification_metrics, score_histogram
from training.export import write_metadata

CLASS_NAMES = {0: "negative", 1: "positive", NEUTRAL: "neutral"}
CALIBRATED_SUFFIX = "-cal"  # its scores change, so its version does too
ECE_BINS = 15


def class_indices(examples: list[Example], classes: tuple[str, ...]) -> np.ndarray:
    return np.array([classes.index(CLASS_NAMES[e.label]) for e in examples])


def fit_calibration(probabilities: np.ndarray, labels: np.ndarray) -> Calibration:
    """Temperature and per-class biases minimising the class-balanced negative log-likelihood
    (the first bias is fixed at 0: only differences between biases matter)."""
    k = probabilities.shape[1]
    log_q = np.log(np.clip(probabilities, 1e-7, 1.0))
    counts = np.bincount(labels, minlength=k).astype(float)
    weights = (len(labels) / (k * np.maximum(counts, 1.0)))[labels]

    def loss(params: np.ndarray) -> float:
        logits = log_q / np.exp(params[0]) + np.concatenate([[0.0], params[1:]])
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return float(-(weights * log_p[np.arange(len(labels)), labels]).sum() / weights.sum())

    found = minimize(loss, np.zeros(k), method="L-BFGS-B")
    return Calibration(float(np.exp(found.x[0])), (0.0, *(float(b) for b in found.x[1:])))


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
) -> float:
    """Top-label ECE (Guo et al. 2017): the gap between confidence and accuracy, averaged
    over equal-width confidence bins weighted by their share of rows."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.minimum((confidence * bins).astype(int), bins - 1)
    gap = 0.0
    for b in np.unique(edges):
        rows = edges == b
        gap += rows.sum() * abs(float(correct[rows].mean()) - float(confidence[rows].mean()))
    return gap / max(1, len(labels))


def binary_columns(p_positive: np.ndarray) -> np.ndarray:
    return np.column_stack([1.0 - p_positive, p_positive])


def three_class_metrics(
    probabilities: np.ndarray, raw: np.ndarray, labels: np.ndarray, classes: tuple[str, ...]
) -> dict[str, float]:
    predicted = probabilities.argmax(axis=1)
    recalls = {name: float((predicted[labels == i] == i).mean()) for i, name in enumerate(classes)}
    return {
        "n": float(len(labels)),
        "accuracy": float((predicted == labels).mean()),
        "macro_recall": float(np.mean(list(recalls.values()))),
        **{f"recall_{name}": value for name, value in recalls.items()},
        "ece": expected_calibration_error(probabilities, labels),
        "ece_uncalibrated": expected_calibration_error(raw, labels),
    }


def binary_set_metrics(model: SentimentModel, examples: list[Example]) -> dict[str, float]:
    """The binary metrics of `evaluate`, plus the ECE of p(positive) with and without the
    bundle's calibration."""
    raw = model.raw_classes([e.text for e in examples])
    p_positive = positive_share(model.calibration.apply(raw), model.classes)
    labels = np.array([e.label for e in examples])
    return {
        **classification_metrics(labels, p_positive, model.threshold),
        "ece": expected_calibration_error(binary_columns(p_positive), labels),
        "ece_uncalibrated": expected_calibration_error(
            binary_columns(positive_share(raw, model.classes)), labels
        ),
    }


def bundle_metrics(model: SentimentModel, corpus: Corpus) -> dict[str, dict[str, float]]:
    """Every frozen set through LiteRT: binary metrics on the polar rows of each; for a
    three-class bundle also the three-class metrics of the SemEval sets and validation."""
    metrics = {
        "validation": binary_set_metrics(model, polar(corpus.validation)),
        **{
            f"test_{name}": binary_set_metrics(model, polar(s.test))
            for name, s in corpus.splits.items()
        },
        "manual_test": binary_set_metrics(model, corpus.manual_test),
    }
    if len(model.classes) == 3:
        three_class = {"validation": [e for e in corpus.validation if e.source == "semeval"]}
        three_class |= {f"test_{n}": s.test for n, s in corpus.splits.items() if "semeval" in n}
        for name, examples in three_class.items():
            raw = model.raw_classes([e.text for e in examples])
            metrics[f"{name}_3class"] = three_class_metrics(
                model.calibration.apply(raw),
                raw,
                class_indices(examples, model.classes),
                model.classes,
            )
    return metrics


def calibrate_bundle(bundle: Path, data_dir: Path = DEFAULT_DATA_DIR) -> dict[str, Any]:
    """Fits the calibration, re-picks the threshold and drift reference on validation rows,
    re-measures every set and rewrites the bundle's metadata; returns it."""
    metadata = read_metadata(bundle)
    metadata.pop("calibration", None)
    uncalibrated = SentimentModel(bundle, metadata)
    classes = uncalibrated.classes
    corpus = load_corpus(data_dir, metadata.get("config", {}).get("limit"), neutral=True)
    rows = corpus.calibration if len(classes) == 3 else polar(corpus.calibration)
    calibration = fit_calibration(
        uncalibrated.raw_classes([e.text for e in rows]), class_indices(rows, classes)
    )
    metadata["calibration"] = {
        "method": "bias-corrected temperature scaling, class-balanced NLL",
        "temperature": calibration.temperature,
        "bias": list(calibration.bias),
        "fitted_on": f"semeval2013 dev split, {len(rows)} rows",
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    metadata["train_prior"] = [1.0 / len(classes)] * len(classes)
    metadata["version"] = metadata["version"].removesuffix(CALIBRATED_SUFFIX) + CALIBRATED_SUFFIX
    calibrated = SentimentModel(bundle, metadata)
    validation = polar(corpus.validation)
    validation_scores = calibrated.predict_proba([e.text for e in validation])
    metadata["threshold"] = best_threshold(
        np.array([e.label for e in validation]), validation_scores
    )
    metadata["reference_histogram"] = score_histogram(validation_scores)
    metadata["metrics"] = bundle_metrics(SentimentModel(bundle, metadata), corpus)
    return write_metadata(bundle, metadata)
