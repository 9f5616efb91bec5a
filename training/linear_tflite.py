"""A fitted TF-IDF + logistic regression rewritten as a Keras graph over token ids.

The worker feeds `[batch, max_len]` int32 ids (0 pads, 1 is out-of-vocabulary). Per row the
graph rebuilds sklearn's score exactly: each distinct unigram and bigram contributes
`tf_weight * idf * coef`, the sum is divided by the l2 norm of the tf-idf vector, then the
intercept and a sigmoid. Term counts come from comparing every position with every other
(40x40 per tweet, cheap). Bigrams are found with a two-table cuckoo hash whose slots store
both token ids, so a lookup is exact: builtin TFLite ops only (gather, equal, floor_mod).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from training.export import to_tflite

HASH_A = (7919, 7907)
HASH_B = (1, 31)
MAX_KICKS = 500


def _primes_from(start: int) -> int:
    candidate = max(3, start) | 1
    while any(candidate % d == 0 for d in range(3, int(candidate**0.5) + 1, 2)):
        candidate += 2
    return candidate


def _slot(table: int, a: int, b: int, size: int) -> int:
    return (a * HASH_A[table] + b * HASH_B[table]) % size


def cuckoo_tables(pairs: list[tuple[int, int]], size: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Places each (a, b) pair in one of two tables; returns slot->pair index tables (-1 empty)
    and how many pairs could not be placed (the weakest come last, so they are the ones lost)."""
    tables = np.full((2, size), -1, dtype=np.int64)
    dropped = 0
    for index in range(len(pairs)):
        item, table = index, 0
        for _ in range(MAX_KICKS):
            slot = _slot(table, *pairs[item], size)
            item, tables[table, slot] = int(tables[table, slot]), item
            if item < 0:
                break
            table = 1 - table
        else:
            dropped += 1
    return tables[0], tables[1], dropped


class LinearTfidfScore(keras.layers.Layer):
    """p(positive) of a linear model over sublinear/raw tf-idf of unigrams and bigrams."""

    def __init__(
        self,
        unigram: dict[str, np.ndarray],
        bigram: dict[str, np.ndarray],
        intercept: float,
        sublinear: bool,
        l2: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sublinear, self.l2, self.intercept = sublinear, l2, float(intercept)
        self.size = len(bigram["a0"])
        self.tables = {
            name: self.add_weight(
                shape=values.shape,
                dtype="int32" if values.dtype.kind == "i" else "float32",
                initializer=keras.initializers.Constant(values),
                trainable=False,
                name=name,
            )
            for name, values in {**unigram, **bigram}.items()
        }

    def _terms(self, ids: Any, weight: Any, idf: Any) -> tuple[Any, Any]:
        """Per position: its share of the score numerator and of the squared norm, each
        divided by the term's count in the row so a repeated term is counted once."""
        ops = keras.ops
        same = ops.cast(ops.equal(ops.expand_dims(ids, 2), ops.expand_dims(ids, 1)), "float32")
        count = ops.sum(same, axis=2)
        tf_weight = 1.0 + ops.log(count) if self.sublinear else count
        numerator = weight * tf_weight / count
        norm = ops.square(tf_weight * idf) / count
        return ops.sum(numerator, axis=1), ops.sum(norm, axis=1)

    def _bigram(self, a: Any, b: Any) -> tuple[Any, Any]:
        ops, t = keras.ops, self.tables
        weight, idf = 0.0, 0.0
        for table in (0, 1):
            slot = ops.mod(a * HASH_A[table] + b * HASH_B[table], self.size)
            found = ops.logical_and(
                ops.equal(ops.take(t[f"a{table}"], slot, axis=0), a),
                ops.equal(ops.take(t[f"b{table}"], slot, axis=0), b),
            )
            weight = weight + ops.where(found, ops.take(t[f"w{table}"], slot, axis=0), 0.0)
            idf = idf + ops.where(found, ops.take(t[f"idf{table}"], slot, axis=0), 0.0)
        return weight, idf

    def call(self, ids: Any) -> Any:
        ops, t = keras.ops, self.tables
        ids = ops.cast(ids, "int32")
        numerator, norm = self._terms(
            ids, ops.take(t["unigram_w"], ids, axis=0), ops.take(t["unigram_idf"], ids, axis=0)
        )
        if self.size > 1:
            # Pairs are compared through their ids, not the (possibly overflowing) key.
            a, b = ids[:, :-1], ids[:, 1:]
            weight, idf = self._bigram(a, b)
            pair_same = ops.logical_and(
                ops.equal(ops.expand_dims(a, 2), ops.expand_dims(a, 1)),
                ops.equal(ops.expand_dims(b, 2), ops.expand_dims(b, 1)),
            )
            count = ops.sum(ops.cast(pair_same, "float32"), axis=2)
            tf_weight = 1.0 + ops.log(count) if self.sublinear else count
            numerator = numerator + ops.sum(weight * tf_weight / count, axis=1)
            norm = norm + ops.sum(ops.square(tf_weight * idf) / count, axis=1)
        if self.l2:
            numerator = numerator / ops.maximum(ops.sqrt(norm), 1e-12)
        return ops.expand_dims(ops.sigmoid(numerator + self.intercept), 1)


def linear_tables(
    vectorizer: TfidfVectorizer, classifier: LogisticRegression
) -> tuple[list[str], dict[str, np.ndarray], dict[str, np.ndarray], int]:
    """Vocabulary (ids from 2) plus the unigram and bigram weight tables of the graph."""
    if vectorizer.norm not in ("l2", None) or getattr(vectorizer, "ngram_range", (1, 1))[1] > 2:
        raise ValueError("only l2/no normalisation and unigrams+bigrams can be exported")
    coef, idf = classifier.coef_[0], vectorizer.idf_
    features = vectorizer.vocabulary_
    tokens = sorted((f for f in features if " " not in f), key=features.__getitem__)
    token_id = {token: position + 2 for position, token in enumerate(tokens)}
    unigram = {"unigram_w": np.zeros(len(tokens) + 2), "unigram_idf": np.zeros(len(tokens) + 2)}
    for token, column in features.items():
        if " " not in token:
            unigram["unigram_w"][token_id[token]] = coef[column] * idf[column]
            unigram["unigram_idf"][token_id[token]] = idf[column]
    pairs, columns, dropped = [], [], 0
    for feature, column in sorted(features.items(), key=lambda item: -abs(coef[item[1]])):
        if " " in feature:
            first, second = feature.split(" ")
            if first in token_id and second in token_id:
                pairs.append((token_id[first], token_id[second]))
                columns.append(column)
            else:
                dropped += 1
    size = _primes_from(int(len(pairs) * 1.3) + 1) if pairs else 1
    bigram: dict[str, np.ndarray] = {}
    slots = cuckoo_tables(pairs, size)
    dropped += slots[2]
    for table in (0, 1):
        placed = slots[table]
        used = placed >= 0
        chosen = np.array([*columns, 0], dtype=np.int64)[np.where(used, placed, len(columns))]
        ids = np.array([*pairs, (-1, -1)], dtype=np.int64)[np.where(used, placed, len(pairs))]
        bigram[f"a{table}"] = ids[:, 0].astype(np.int32)
        bigram[f"b{table}"] = ids[:, 1].astype(np.int32)
        bigram[f"w{table}"] = np.where(used, coef[chosen] * idf[chosen], 0.0)
        bigram[f"idf{table}"] = np.where(used, idf[chosen], 0.0)
    return tokens, unigram, bigram, dropped


def linear_model(
    vectorizer: TfidfVectorizer, classifier: LogisticRegression, max_len: int
) -> tuple[keras.Model, list[str], int]:
    tokens, unigram, bigram, dropped = linear_tables(vectorizer, classifier)
    inputs = keras.Input(shape=(max_len,), dtype="int32")
    layer = LinearTfidfScore(
        unigram,
        bigram,
        float(classifier.intercept_[0]),
        sublinear=bool(vectorizer.sublinear_tf),
        l2=vectorizer.norm == "l2",
    )
    return keras.Model(inputs, layer(inputs)), tokens, dropped


def linear_tflite(
    vectorizer: TfidfVectorizer, classifier: LogisticRegression, max_len: int, batch_size: int
) -> tuple[bytes, list[str], int]:
    """The TFLite model (float32: agreement with sklearn matters more than size here), its
    vocabulary, and how many features could not be exported."""
    model, tokens, dropped = linear_model(vectorizer, classifier, max_len)
    return to_tflite(model, batch_size, max_len, quantize=False), tokens, dropped
