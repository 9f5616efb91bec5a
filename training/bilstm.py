"""The recurrent model: embeddings, a bidirectional LSTM, max-pooling over time.

Max-pooling makes the prediction indifferent to the left padding of short tweets; the
static input shape is what lets TFLite use its fused LSTM kernel.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keras
import numpy as np

from model import SentimentModel, tokenize
from model.bundle import Vocabulary
from training.data import DEFAULT_DATA_DIR, Example, data_hash, load_corpus
from training.evaluate import best_threshold, evaluate, score_histogram
from training.export import to_tflite, write_bundle, write_metadata


@dataclass(frozen=True)
class BiLSTMConfig:
    max_len: int = 40
    vocab_size: int = 20_000
    min_count: int = 2
    embedding_dim: int = 64
    lstm_units: int = 48
    dropout: float = 0.3
    epochs: int = 3
    train_batch_size: int = 256
    serve_batch_size: int = 64
    learning_rate: float = 2e-3
    semeval_weight: float = 2.0
    quantize: bool = True
    seed: int = 42
    limit: int | None = None


def build_vocabulary(texts: Iterable[str], size: int, min_count: int) -> list[str]:
    counts = Counter(token for text in texts for token in tokenize(text))
    return [token for token, count in counts.most_common(size) if count >= min_count]


def build_model(config: BiLSTMConfig, vocabulary_size: int) -> keras.Model:
    keras.utils.set_random_seed(config.seed)
    inputs = keras.Input(shape=(config.max_len,), dtype="int32")
    x = keras.layers.Embedding(vocabulary_size + 2, config.embedding_dim)(inputs)
    x = keras.layers.SpatialDropout1D(config.dropout / 2)(x)
    x = keras.layers.Bidirectional(
        keras.layers.LSTM(config.lstm_units, return_sequences=True, unroll=True)
    )(x)
    x = keras.layers.GlobalMaxPooling1D()(x)
    x = keras.layers.Dropout(config.dropout)(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _arrays(
    vocabulary: Vocabulary, examples: list[Example], semeval_weight: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ids = vocabulary.encode([e.text for e in examples])
    labels = np.array([e.label for e in examples], dtype=np.float32)
    weights = np.array([semeval_weight if e.source == "semeval" else 1.0 for e in examples])
    return ids, labels, weights


def train_bundle(
    out_dir: Path, config: BiLSTMConfig = BiLSTMConfig(), data_dir: Path = DEFAULT_DATA_DIR
) -> dict[str, Any]:
    """Train, export to TFLite, pick the threshold on validation data, evaluate on every
    held-out set through LiteRT, and write the bundle; returns its metadata."""
    corpus = load_corpus(data_dir, config.limit)
    train = corpus.train
    tokens = build_vocabulary((e.text for e in train), config.vocab_size, config.min_count)
    vocabulary = Vocabulary.from_tokens(tokens, config.max_len)
    x_train, y_train, w_train = _arrays(vocabulary, train, config.semeval_weight)
    x_val, y_val, w_val = _arrays(vocabulary, corpus.validation, config.semeval_weight)

    model = build_model(config, len(tokens))
    history = model.fit(
        x_train,
        y_train,
        sample_weight=w_train,
        validation_data=(x_val, y_val, w_val),
        epochs=config.epochs,
        batch_size=config.train_batch_size,
        callbacks=[keras.callbacks.EarlyStopping(patience=1, restore_best_weights=True)],
        verbose=2,
    )
    tflite_model = to_tflite(model, config.serve_batch_size, config.max_len, config.quantize)
    metadata: dict[str, Any] = {
        "architecture": "bilstm",
        "config": asdict(config),
        "max_len": config.max_len,
        "batch_size": config.serve_batch_size,
        "threshold": 0.5,
        "vocab_size": len(tokens),
        "training_data_sha256": data_hash(train),
        "training_rows": len(train),
        "epochs_run": len(history.history["loss"]),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    metadata["version"] = "bilstm-{}-{}".format(
        metadata["created_at"][:10], metadata["training_data_sha256"][:8]
    )
    with tempfile.TemporaryDirectory() as scratch:
        draft = SentimentModel.load(write_bundle(Path(scratch), tflite_model, tokens, metadata))
        validation_scores = draft.predict_proba([e.text for e in corpus.validation])
    metadata["threshold"] = best_threshold(y_val.astype(int), validation_scores)
    metadata["reference_histogram"] = score_histogram(validation_scores)
    bundle = write_bundle(out_dir, tflite_model, tokens, metadata)

    served = SentimentModel.load(bundle)
    metadata["metrics"] = {
        **{f"test_{name}": evaluate(served, s.test) for name, s in corpus.splits.items()},
        "manual_test": evaluate(served, corpus.manual_test),
    }
    return write_metadata(bundle, metadata)
