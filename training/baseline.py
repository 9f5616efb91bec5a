"""TF-IDF + logistic regression, served through the same bundle format as the BiLSTM.

sklearn fits the linear model; `linear_tflite.py` rewrites its score as a Keras graph over
token ids, so the worker runs it through LiteRT like any other bundle and any approach can
become the champion without changing the serving side.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from model import SentimentModel, tokenize
from model.bundle import write_metadata
from training.data import (
    Corpus,
    Example,
    data_hash,
    labels_and_weights,
    load_corpus,
)
from training.evaluate import best_threshold, classification_metrics, evaluate, score_histogram
from training.export import write_bundle
from training.linear_tflite import linear_tflite


@dataclass(frozen=True)
class BaselineConfig:
    max_len: int = 40
    ngram_max: int = 2
    min_df: int = 2
    c: float = 4.0
    sublinear_tf: bool = True
    semeval_weight: float = 2.0
    serve_batch_size: int = 64
    max_iter: int = 2000
    limit: int | None = None


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def token_lists(examples: list[Example], max_len: int) -> list[list[str]]:
    """The tokens the served model sees: the worker encodes only the first `max_len`."""
    return [tokenize(e.text)[:max_len] for e in examples]


@dataclass
class LinearFit:
    vectorizer: TfidfVectorizer
    classifier: LogisticRegression

    def scores(self, tokens: list[list[str]]) -> np.ndarray:
        return self.classifier.predict_proba(self.vectorizer.transform(tokens))[:, 1]


def fit_linear(
    tokens: list[list[str]], labels: np.ndarray, weights: np.ndarray, config: BaselineConfig
) -> LinearFit:
    """Inputs are pre-tokenised lists so a hyperparameter search tokenises only once."""
    vectorizer = TfidfVectorizer(
        analyzer="word",
        tokenizer=_identity,
        preprocessor=_identity,
        token_pattern=None,
        lowercase=False,
        ngram_range=(1, config.ngram_max),
        min_df=config.min_df,
        sublinear_tf=config.sublinear_tf,
        dtype=np.float64,
    )
    features = vectorizer.fit_transform(tokens)
    classifier = LogisticRegression(C=config.c, max_iter=config.max_iter)
    classifier.fit(features, labels, sample_weight=weights)
    return LinearFit(vectorizer, classifier)


def train_bundle(
    out_dir: Path,
    config: BaselineConfig = BaselineConfig(),
    data_dir: Path | None = None,
    corpus: Corpus | None = None,
) -> dict[str, Any]:
    """Fit, export to TFLite, pick the threshold on validation, evaluate every held-out set
    through LiteRT, and write the bundle; returns its metadata (with validation metrics and
    the LiteRT/sklearn agreement on validation)."""
    if corpus is None:
        if data_dir is None:
            raise TypeError("train_bundle needs the data folder or an already loaded corpus")
        corpus = load_corpus(data_dir, config.limit)
    train, validation = corpus.train, corpus.validation
    labels, weights = labels_and_weights(train, config.semeval_weight, label_dtype=np.int64)
    fit = fit_linear(token_lists(train, config.max_len), labels, weights, config)
    tflite_model, vocabulary, dropped = linear_tflite(
        fit.vectorizer, fit.classifier, config.max_len, config.serve_batch_size
    )
    metadata: dict[str, Any] = {
        "architecture": "tfidf-logreg",
        "config": asdict(config),
        "max_len": config.max_len,
        "batch_size": config.serve_batch_size,
        "threshold": 0.5,
        "vocab_size": len(vocabulary),
        "features": len(fit.vectorizer.vocabulary_),
        "features_dropped_in_export": dropped,
        "training_data_sha256": data_hash(train),
        "training_rows": len(train),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    metadata["version"] = "baseline-{}-{}".format(
        metadata["created_at"][:10], metadata["training_data_sha256"][:8]
    )
    val_labels = np.array([e.label for e in validation])
    reference = fit.scores(token_lists(validation, config.max_len))
    with tempfile.TemporaryDirectory() as scratch:
        draft = SentimentModel.load(write_bundle(Path(scratch), tflite_model, vocabulary, metadata))
        served_scores = draft.predict_proba([e.text for e in validation])
    metadata["threshold"] = best_threshold(val_labels, served_scores)
    metadata["reference_histogram"] = score_histogram(served_scores)
    metadata["litert_vs_sklearn"] = agreement(reference, served_scores, metadata["threshold"])
    bundle = write_bundle(out_dir, tflite_model, vocabulary, metadata)

    served = SentimentModel.load(bundle)
    metadata["metrics"] = {
        "validation": classification_metrics(val_labels, served_scores, served.threshold),
        **{f"test_{name}": evaluate(served, s.test) for name, s in corpus.splits.items()},
        "manual_test": evaluate(served, corpus.manual_test),
    }
    return write_metadata(bundle, metadata)


def agreement(reference: np.ndarray, served: np.ndarray, threshold: float) -> dict[str, float]:
    """How closely the exported model reproduces sklearn's probabilities."""
    gap = np.abs(reference.astype(np.float64) - served.astype(np.float64))
    same = (reference >= threshold) == (served >= threshold)
    return {
        "max_abs_diff": float(gap.max(initial=0.0)),
        "mean_abs_diff": float(gap.mean()) if len(gap) else 0.0,
        "label_agreement": float(same.mean()) if len(same) else 1.0,
    }
