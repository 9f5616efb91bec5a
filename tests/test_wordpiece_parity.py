"""The Rust WordPiece encoder gives the pure-Python reference's ids on every tweet we have."""

from __future__ import annotations

import numpy as np

from model.bundle import DEFAULT_BUNDLE, read_metadata
from model.wordpiece import WordPieceEncoder
from tests.reference.python_wordpiece import PythonWordPieceEncoder
from training.data import DEFAULT_DATA_DIR, csv_rows

CORPORA = (
    DEFAULT_DATA_DIR / "sentiment140" / "train_sample_100k.csv.gz",
    DEFAULT_DATA_DIR / "sentiment140" / "test_manual.csv",
    DEFAULT_DATA_DIR / "semeval2013" / "tweets.csv.gz",
    DEFAULT_DATA_DIR / "semeval2017" / "train.csv.gz",
)


def test_rust_encoder_matches_the_python_reference_on_every_tweet() -> None:
    metadata = read_metadata(DEFAULT_BUNDLE)
    vocab_file = DEFAULT_BUNDLE / metadata["vocab_file"]
    rust = WordPieceEncoder.from_file(vocab_file, int(metadata["max_len"]))
    python = PythonWordPieceEncoder.from_file(vocab_file, int(metadata["max_len"]))
    for path in CORPORA:
        texts = [row["text"] for row in csv_rows(path)]
        assert len(texts) > 300, path
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
