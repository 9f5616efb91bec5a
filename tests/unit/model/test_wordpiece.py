"""The Rust WordPiece encoder gives the pure-Python reference's ids on every tweet of the
test fixtures and the demo."""

from __future__ import annotations

import numpy as np

from model.bundle import DEFAULT_BUNDLE, read_metadata
from model.wordpiece import WordPieceEncoder
from tests.reference.python_wordpiece import PythonWordPieceEncoder
from tests.support import PROJECT_ROOT, TRAINING_DATA
from training.data import csv_rows

CORPORA = (
    TRAINING_DATA / "sentiment140" / "train_sample_100k.csv.gz",
    TRAINING_DATA / "sentiment140" / "test_manual.csv",
    TRAINING_DATA / "semeval2013" / "tweets.csv.gz",
    TRAINING_DATA / "semeval2017" / "train.csv.gz",
    PROJECT_ROOT / "tests" / "fixtures" / "labelled_airline_tweets.csv",
    PROJECT_ROOT / "data" / "demo" / "tweets.csv",
)


def test_rust_encoder_matches_the_python_reference_on_every_tweet() -> None:
    metadata = read_metadata(DEFAULT_BUNDLE)
    vocab_file = DEFAULT_BUNDLE / metadata["vocab_file"]
    rust = WordPieceEncoder.from_file(vocab_file, int(metadata["max_len"]))
    python = PythonWordPieceEncoder.from_file(vocab_file, int(metadata["max_len"]))
    for path in CORPORA:
        texts = [row["text"] for row in csv_rows(path)]
        assert len(texts) >= 90, path
        expected, got = python.encode(texts), rust.encode(texts)
        mismatched = np.flatnonzero((expected != got).any(axis=1))
        assert mismatched.size == 0, (
            f"{path.name}: {mismatched.size} of {len(texts)} differ, first "
            f"{texts[mismatched[0]]!r}: {expected[mismatched[0]]} != {got[mismatched[0]]}"
        )


def test_long_texts_keep_their_first_pieces_and_end_with_sep() -> None:
    metadata = read_metadata(DEFAULT_BUNDLE)
    encoder = WordPieceEncoder.from_file(DEFAULT_BUNDLE / metadata["vocab_file"], 8)
    (ids,) = encoder.encode(["delayed " * 20])
    delayed = encoder.vocab["delayed"]
    assert list(ids) == [encoder.vocab["[CLS]"], *[delayed] * 6, encoder.vocab["[SEP]"]]
    assert encoder.encode([]).shape == (0, 8)
