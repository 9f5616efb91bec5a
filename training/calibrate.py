"""Fits a bundle's calibration on human-labelled rows no model trains or is judged on, and
measures what it changes.

The rows are SemEval-2013's dev split (`Corpus.calibration`): every test set stays frozen.
Classes are weighted equally in the fit, so the calibrated probabilities hold under a
uniform training prior (metadata `train_prior`), the reference from which the worker can
re-weight them to the live traffic's prior. A binary bundle's threshold is picked again, on
validation rows, on the calibrated scale (a three-class bundle's is the argmax's 0.5); the
drift reference histogram is redrawn on validation rows too.

Reproduce: `badbuzz train calibrate model/default`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from model import SentimentModel
from model.bundle import read_metadata, write_metadata
from model.calibration import FLOOR, Calibration
from model.scorer import positive_share
from training.data import NEUTRAL, Corpus, Example, load_corpus, polar
from training.evaluate import best_threshold, classification_metrics, score_histogram

CLASS_NAMES = {0: "negative", 1: "positive", NEUTRAL: "neutral"}
CALIBRATED_SUFFIX = "-cal"  # its scores change, so its version does too
ECE_BINS = 15
# A three-class bundle decides by argmax, which between negative and positive is a cut at
# 0.5 of p(positive | not neutral); its binary threshold says the same, so the binary
# metrics measure the rule the worker applies (and it is the Bayes rule under the uniform
# calibrated prior).
THREE_CLASS_THRESHOLD = 0.5


def class_indices(examples: list[Example], classes: tuple[str, ...]) -> np.ndarray:
    return np.array([classes.index(CLASS_NAMES[e.label]) for e in examples])


def fit_calibration(probabilities: np.ndarray, labels: np.ndarray) -> Calibration:
    """Temperature and per-class biases minimising the class-balanced negative log-likelihood
    (the first bias is fixed at 0: only differences between biases matter)."""
    k = probabilities.shape[1]
    log_q = np.log(np.clip(probabilities, FLOOR, 1.0))
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


def at_prior(probabilities: np.ndarray, train_prior: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Probabilities calibrated under `train_prior` moved to another class prior (Bayes'
    rule; what the worker's label-shift correction does with the prior it estimates)."""
    moved = probabilities * (prior / train_prior)
    return moved / moved.sum(axis=1, keepdims=True)


def ece_at_set_prior(
    probabilities: np.ndarray, labels: np.ndarray, train_prior: tuple[float, ...]
) -> float:
    """ECE once the calibrated probabilities are moved to the set's own class shares: the
    best a label-shift correction can do, since the sets are not balanced like the uniform
    training prior."""
    shares = np.bincount(labels, minlength=probabilities.shape[1]) / max(1, len(labels))
    moved = at_prior(probabilities, np.asarray(train_prior), np.maximum(shares, 1e-6))
    return expected_calibration_error(moved, labels)


def binary_columns(p_positive: np.ndarray) -> np.ndarray:
    return np.column_stack([1.0 - p_positive, p_positive])


def three_class_metrics(
    probabilities: np.ndarray,
    raw: np.ndarray,
    labels: np.ndarray,
    classes: tuple[str, ...],
    train_prior: tuple[float, ...],
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
        "ece_at_set_prior": ece_at_set_prior(probabilities, labels, train_prior),
    }


def binary_set_metrics(model: SentimentModel, examples: list[Example]) -> dict[str, float]:
    """The binary metrics of `evaluate`, plus the ECE of p(positive) with and without the
    bundle's calibration."""
    raw = model.raw_classes([e.text for e in examples])
    p_positive = positive_share(model.calibration.apply(raw), model.classes)
    labels = np.array([e.label for e in examples])
    calibrated = binary_columns(p_positive)
    return {
        **classification_metrics(labels, p_positive, model.threshold),
        "ece": expected_calibration_error(calibrated, labels),
        "ece_at_set_prior": ece_at_set_prior(calibrated, labels, (0.5, 0.5)),
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
                model.train_prior,
            )
    return metrics


def calibrate_bundle(bundle: Path, data_dir: Path, limit: int | None = None) -> dict[str, Any]:
    """Fits the calibration, re-picks the threshold and drift reference on validation rows,
    re-measures every set and rewrites the bundle's metadata; returns it. `limit`: rows per
    source, for quick test runs."""
    metadata = read_metadata(bundle)
    metadata.pop("calibration", None)
    uncalibrated = SentimentModel(bundle, metadata)
    classes = uncalibrated.classes
    corpus = load_corpus(data_dir, limit, neutral=True)
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
    metadata["threshold"] = (
        best_threshold(np.array([e.label for e in validation]), validation_scores)
        if len(classes) == 2
        else THREE_CLASS_THRESHOLD
    )
    metadata["reference_histogram"] = score_histogram(validation_scores)
    metadata["metrics"] = bundle_metrics(SentimentModel(bundle, metadata), corpus)
    return write_metadata(bundle, metadata)
