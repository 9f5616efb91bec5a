"""The neutral detector that turns a binary word-piece bundle into a three-class one.

Sentiment140's emoticon labels know only negative and positive, so a binary model reads a
factual tweet ("the flight was on time") as one or the other. The human-labelled SemEval
tweets (2013 train split and the 2016 set's training split, neutral included) train a small
model, over the same word pieces and input shape, that gives p(neutral); the binary model
stays what it was trained to be, p(positive | not neutral). Keeping the two apart keeps the
binary model's accuracy, and lets the neutral model learn from human labels only.

Reproduce: `badbuzz train neutral --base model/default --out var/candidates/three-class`.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keras
import numpy as np

from model.bundle import read_metadata, write_metadata
from model.wordpiece import WordPieceEncoder
from training.bilstm import folded_serving_model
from training.data import NEUTRAL, Corpus, Example, data_hash, load_corpus
from training.export import VOCAB_FILE, to_tflite
from training.minilm import pretrained_dir, pretrained_word_vectors

NEUTRAL_FILE = "neutral.tflite"
THREE_CLASSES = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class NeutralConfig:
    max_len: int = 40
    projection: int = 64
    hidden: int = 64
    dropout: float = 0.3
    epochs: int = 10
    train_batch_size: int = 256
    learning_rate: float = 2e-3
    quantize: bool = True
    seed: int = 42
    limit: int | None = None


def build_models(
    config: NeutralConfig, word_vectors: np.ndarray
) -> tuple[keras.Model, keras.layers.Dense, keras.Model]:
    """The frozen MiniLM word-piece vectors and a trained projection, as in the BiLSTM, then
    max- and mean-pooling and a small dense layer instead of a recurrent one: it costs a few
    per cent of the polarity model's time, and on validation it found neutral tweets better
    than a 32-unit BiLSTM (macro-recall 0.697 against 0.685, at 12% more serving time)."""
    keras.utils.set_random_seed(config.seed)
    inputs = keras.Input(shape=(config.max_len, config.projection))
    x = keras.layers.SpatialDropout1D(config.dropout / 2)(inputs)
    pooled = keras.layers.Concatenate()(
        [keras.layers.GlobalMaxPooling1D()(x), keras.layers.GlobalAveragePooling1D()(x)]
    )
    x = keras.layers.Dense(config.hidden, activation="relu")(pooled)
    x = keras.layers.Dropout(config.dropout)(x)
    tail = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x), name="tail")
    ids = keras.Input(shape=(config.max_len,), dtype="int32")
    vectors = keras.layers.Embedding(*word_vectors.shape, trainable=False, name="word_vectors")
    projection = keras.layers.Dense(config.projection, name="projection")
    model = keras.Model(ids, tail(projection(vectors(ids))))
    vectors.set_weights([word_vectors])
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="binary_crossentropy")
    return model, projection, tail


def human_labelled(examples: list[Example]) -> list[Example]:
    return [e for e in examples if e.source.startswith("semeval")]


def train_neutral_detector(
    corpus: Corpus, config: NeutralConfig, max_len: int, batch_size: int
) -> tuple[bytes, dict[str, Any]]:
    """The TFLite neutral-vs-polar model for an input of [batch_size, max_len] word pieces,
    and what it was trained on."""
    config = replace(config, max_len=max_len)
    train, validation = human_labelled(corpus.train), human_labelled(corpus.validation)
    encoder = WordPieceEncoder.from_file(pretrained_dir() / VOCAB_FILE, max_len)
    x_train = encoder.encode([e.text for e in train])
    x_val = encoder.encode([e.text for e in validation])
    y_train = np.array([e.label == NEUTRAL for e in train], dtype=np.float32)
    y_val = np.array([e.label == NEUTRAL for e in validation], dtype=np.float32)
    word_vectors = pretrained_word_vectors()
    model, projection, tail = build_models(config, word_vectors)
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=config.epochs,
        batch_size=config.train_batch_size,
        callbacks=[keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)],
        verbose=2,
    )
    served = folded_serving_model(config, word_vectors, projection, tail)
    trained_on = {
        "config": asdict(config),
        "architecture": "word pieces, projection, max+mean pooling, dense",
        "training_rows": len(train),
        "neutral_share": round(float(y_train.mean()), 4),
        "training_data_sha256": data_hash(train),
        "epochs_run": len(history.history["loss"]),
    }
    return to_tflite(served, batch_size, max_len, config.quantize), trained_on


def build_three_class_bundle(
    base: Path,
    out_dir: Path,
    data_dir: Path,
    config: NeutralConfig = NeutralConfig(),
) -> dict[str, Any]:
    """Copies the binary word-piece bundle `base`, adds a neutral detector trained here and
    declares three classes; calibration and metrics are added by `training.calibrate`."""
    metadata = read_metadata(base)
    if metadata.get("encoder") != "wordpiece" or metadata.get("neutral_model"):
        raise ValueError(f"{base} is not a binary word-piece bundle")
    corpus = load_corpus(data_dir, config.limit, neutral=True)
    tflite_model, trained_on = train_neutral_detector(
        corpus, config, int(metadata["max_len"]), int(metadata["batch_size"])
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("model.tflite", VOCAB_FILE):
        shutil.copyfile(base / name, out_dir / name)
    (out_dir / NEUTRAL_FILE).write_bytes(tflite_model)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    metadata = {
        **{k: v for k, v in metadata.items() if k not in ("calibration", "metrics")},
        "classes": list(THREE_CLASSES),
        "neutral_model": NEUTRAL_FILE,
        "neutral_detector": trained_on,
        "polarity_model": metadata["version"],
        "created_at": created,
        "version": f"3class-{created[:10]}-{trained_on['training_data_sha256'][:8]}",
    }
    return write_metadata(out_dir, metadata)
