"""Writes a model bundle: a TFLite model with builtin ops only, its vocabulary, metadata."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf

from model.bundle import write_metadata
from training.minilm import pretrained_dir

VOCAB_FILE = "vocab.txt"


def to_tflite(model: keras.Model, batch_size: int, max_len: int, quantize: bool) -> bytes:
    """A static [batch, max_len] input, exported the Keras 3 way (`model.export`), which
    freezes weights; dynamic shapes would keep the recurrent loop out of TFLite builtins."""
    with tempfile.TemporaryDirectory() as saved:
        model.export(
            saved,
            format="tf_saved_model",
            input_signature=[tf.TensorSpec([batch_size, max_len], tf.int32)],
            verbose=False,
        )
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        return converter.convert()


def write_bundle(
    directory: Path, tflite_model: bytes, vocabulary: list[str], metadata: dict[str, Any]
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.tflite").write_bytes(tflite_model)
    (directory / "vocab.json").write_text(json.dumps(vocabulary, ensure_ascii=False))
    write_metadata(directory, metadata)
    return directory


def write_wordpiece_bundle(directory: Path, tflite_model: bytes, metadata: dict[str, Any]) -> Path:
    """A bundle that reads MiniLM's word pieces: the pretrained vocabulary travels with it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.tflite").write_bytes(tflite_model)
    shutil.copyfile(pretrained_dir() / VOCAB_FILE, directory / VOCAB_FILE)
    write_metadata(directory, metadata)
    return directory
