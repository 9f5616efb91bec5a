"""The French model: a logistic-regression head over multilingual USE embeddings, shipped as
a route of the served bundle (`<bundle>/fr`, model/use_head.py) with the encoder's int8 graph
and tokenizer (training/use_export.py), so the head learns on the vectors the worker computes.

Data (../shared/data/french): XLM-T French train (negative/neutral/positive) and DEFT-2017
task 1 train, mapped objective -> neutral, negative, positive, and `mixed` left out (a tweet
that is both says nothing the three classes can hold; as neutral it cost 0.012 of
macro-recall). 20% of those rows, by a hash of the normalised text, are the held-out test
split; XLM-T val is only ever a test set.

The head has its bundle's classes, as a route must (model/scorer.py): three for a three-class
bundle; for a binary one (a retrained challenger, training/retrain.py) negative and positive,
learnt and judged on the polar rows only, and cut where the bundle cuts (its threshold).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score

from model.bundle import read_metadata, write_metadata
from model.scorer import BINARY_CLASSES, positive_share
from model.sentence_encoder import ENCODER_FILES, SentenceEncoder
from model.use_head import HEAD_FILE, USE_ENCODER, head_probabilities
from training.data import NEUTRAL, Example, csv_rows, polar, split_bucket
from training.evaluate import classification_metrics
from training.use_export import export_encoder

LABEL_NAMES = ("negative", "positive", "neutral")  # training.data's label numbers 0, 1, 2
CLASS_INDEX = {name: number for number, name in enumerate(LABEL_NAMES)}
DEFT_LABELS = {"negative": "negative", "positive": "positive", "objective": "neutral"}
TEST_SHARE = 0.2
REGULARISATION_C = 1.0
FRENCH_FOLDER = "french"  # in the training data folder (docs/data.md)
FRENCH_APPROACH = "french-use-head"  # the tag of its MLflow runs (the report finds them by it)


@dataclass(frozen=True)
class FrenchData:
    train: list[Example]
    test: list[Example]
    xlmt_val: list[Example]


FRENCH_FILES = ("xlmt_train.csv", "deft2017_task1_train.csv", "xlmt_val.csv")


def has_french(data_dir: Path) -> bool:
    """Whether the data folder holds every French file (a part of them trains no route)."""
    return all((data_dir / FRENCH_FOLDER / name).is_file() for name in FRENCH_FILES)


def load_french(data_dir: Path) -> FrenchData:
    folder = data_dir / FRENCH_FOLDER
    rows = [
        Example(row["text"], CLASS_INDEX[row["label"]], "xlmt")
        for row in csv_rows(folder / FRENCH_FILES[0])
    ] + [
        Example(row["text"], CLASS_INDEX[DEFT_LABELS[row["label"]]], "deft")
        for row in csv_rows(folder / FRENCH_FILES[1])
        if row["label"] in DEFT_LABELS
    ]
    held_out = [split_bucket(e.text) < TEST_SHARE for e in rows]
    test = [e for e, out in zip(rows, held_out, strict=True) if out]
    train = [e for e, out in zip(rows, held_out, strict=True) if not out]
    xlmt_val = [
        Example(row["text"], CLASS_INDEX[row["label"]], "xlmt_val")
        for row in csv_rows(folder / FRENCH_FILES[2])
    ]
    return FrenchData(train, test, xlmt_val)


def embeddings(texts: list[str], encoder: SentenceEncoder, cache_dir: Path | None) -> np.ndarray:
    """USE vectors, kept in `cache_dir` under a hash of the texts and the encoder's files:
    embedding is most of the training time."""
    if cache_dir is None:
        return encoder.encode(texts)
    files = b"".join((encoder.directory / name).read_bytes() for name in ENCODER_FILES)
    key = hashlib.sha256(files + "\n".join(texts).encode()).hexdigest()[:16]
    path = cache_dir / f"use-{key}.npy"
    if path.exists():
        return np.load(path)
    vectors = encoder.encode(texts)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


@dataclass(frozen=True)
class HeadRule:
    """What the head must give: the served bundle's classes, and for a binary bundle the
    p(positive) its labels are cut at (its threshold, tuned on English; the head's own
    balanced cut is moved there)."""

    classes: tuple[str, ...]
    cut: float = 0.5

    @property
    def binary(self) -> bool:
        return len(self.classes) == 2


def head_rule(bundle: Path) -> HeadRule:
    metadata = read_metadata(bundle)
    classes = tuple(metadata.get("classes", BINARY_CLASSES))
    return HeadRule(classes, float(metadata.get("threshold", 0.5)) if len(classes) == 2 else 0.5)


def rows_for(examples: list[Example], rule: HeadRule) -> list[Example]:
    """The rows a head learns from and is judged on: all of them for three classes, the
    negative and positive ones for two."""
    return polar(examples) if rule.binary else examples


def model_columns(labels: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    """training.data's label numbers as columns of `classes` (a neutral label has none in a
    binary head's)."""
    return np.array([classes.index(name) for name in LABEL_NAMES[: len(classes)]])[labels]


def fit_head(
    vectors: np.ndarray, labels: np.ndarray, rule: HeadRule
) -> tuple[np.ndarray, np.ndarray]:
    """Weights [dim, k] and bias [k], columns in the rule's classes order; classes weighted
    equally so the probabilities hold under a uniform prior, like the English bundle's."""
    head = LogisticRegression(C=REGULARISATION_C, max_iter=2000, class_weight="balanced")
    head.fit(vectors, model_columns(labels, rule.classes))
    weights, bias = head.coef_.T, head.intercept_
    if rule.binary:  # one logit z: softmax([-z/2, z/2]) = sigmoid(z), 0 moved to the cut
        bias = bias + np.log(rule.cut / (1 - rule.cut))
        weights, bias = np.hstack([-weights / 2, weights / 2]), np.hstack([-bias / 2, bias / 2])
    return weights.astype(np.float32), bias.astype(np.float32)


def evaluate(
    probabilities: np.ndarray, examples: list[Example], rule: HeadRule
) -> dict[str, float]:
    """Binary figures on the negative and positive rows (p(positive | not neutral) at the
    rule's cut, which for three classes is the argmax's 0.5) and, for three classes,
    macro-recall on all rows."""
    labels = np.array([e.label for e in examples])
    polar_rows = labels != NEUTRAL
    metrics = classification_metrics(
        labels[polar_rows], positive_share(probabilities[polar_rows], rule.classes), rule.cut
    )
    if not rule.binary:
        metrics["macro_recall_3class"] = float(
            recall_score(
                model_columns(labels, rule.classes), probabilities.argmax(axis=1), average="macro"
            )
        )
    return metrics


def write_head(
    out: Path, weights: np.ndarray, bias: np.ndarray, metrics: dict, rule: HeadRule
) -> str:
    version = f"fr-use-lr-{datetime.now(UTC):%Y-%m-%d}-{hashlib.sha256(weights).hexdigest()[:8]}"
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / HEAD_FILE, weights=weights, bias=bias)
    metadata = {
        "version": version,
        "language": "fr",
        "encoder": USE_ENCODER,
        "classes": list(rule.classes),
        "threshold": rule.cut,
        "head_file": HEAD_FILE,
        "train_prior": [1 / len(rule.classes)] * len(rule.classes),
        "metrics": metrics,
    }
    write_metadata(out, metadata)
    return version


def route_into(bundle: Path, lang: str, directory: str) -> None:
    """Declare the language's sub-bundle in the served bundle's metadata."""
    metadata = read_metadata(bundle)
    metadata["routes"] = {**metadata.get("routes", {}), lang: directory}
    write_metadata(bundle, metadata)


def train_french(bundle: Path, data_dir: Path, cache_dir: Path | None = None) -> dict[str, Any]:
    """Export the encoder, train a head with the bundle's classes, measure it and write
    `<bundle>/fr`, routed from `bundle`."""
    rule = head_rule(bundle)
    data = load_french(data_dir)
    train, test, xlmt_val = (
        rows_for(rows, rule) for rows in (data.train, data.test, data.xlmt_val)
    )
    export_encoder(bundle / "fr")
    encoder = SentenceEncoder(bundle / "fr")
    train_vectors = embeddings([e.text for e in train], encoder, cache_dir)
    weights, bias = fit_head(train_vectors, np.array([e.label for e in train]), rule)

    def measured(examples: list[Example]) -> dict[str, float]:
        vectors = embeddings([e.text for e in examples], encoder, cache_dir)
        probabilities = head_probabilities(vectors, weights, bias)
        return evaluate(probabilities, examples, rule)

    metrics = {
        "test": measured(test),
        "xlmt_val": measured(xlmt_val),
        "rows": {"train": len(train), "test_polar": len(polar(test))},
    }
    version = write_head(bundle / "fr", weights, bias, metrics, rule)
    route_into(bundle, "fr", "fr")
    return {"version": version, "classes": list(rule.classes), "cut": rule.cut, **metrics}


def log_french_run(result: dict[str, Any], head_dir: Path) -> str:
    """One MLflow run in the project's experiment (training/tracking.py `configure` first):
    the figures, the data mapping and the head files."""
    import mlflow

    from training.tracking import flat_metrics, git_commit

    with mlflow.start_run(run_name=str(result["version"])) as run:
        mlflow.set_tags({"approach": FRENCH_APPROACH, "language": "fr", "git_commit": git_commit()})
        mlflow.log_params(
            {
                "encoder": USE_ENCODER,
                "encoder_graph": "int8 weights, dynamic-range activations (training/use_export.py)",
                "text": "URLs as http, user names as @user (model/text.py with_placeholders)",
                "head": "logistic regression, balanced classes",
                "classes": ",".join(result["classes"]),
                "C": REGULARISATION_C,
                "deft_mapping": "objective->neutral, mixed left out",
                "test_share": TEST_SHARE,
                **{f"rows.{k}": v for k, v in result["rows"].items()},
            }
        )
        mlflow.log_metrics(flat_metrics({k: result[k] for k in ("test", "xlmt_val")}))
        mlflow.log_artifacts(str(head_dir), artifact_path="fr")
        return run.info.run_id
