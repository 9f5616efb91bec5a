"""BERT WordPiece encoding through the `tokenizers` package (Rust), so the worker scores
transformer-vocabulary bundles without TensorFlow or `transformers`.

It is the uncased `BertTokenizer` of all-MiniLM-L6-v2 (clean control characters, space out
CJK characters, lowercase and strip accents, split on whitespace and punctuation, greedy
longest-match-first pieces with `##` continuations), built from the bundle's vocab.txt
alone. `tests/unit/model/test_wordpiece.py` holds it to the earlier pure-Python encoder, id for
id, on every Sentiment140 and SemEval tweet. The batch call runs in Rust without the GIL,
so it can overlap with Kafka I/O and with inference.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

from model.text import clipped, normalize

PAD, UNK, CLS, SEP = "[PAD]", "[UNK]", "[CLS]", "[SEP]"
MAX_CHARS_PER_WORD = 100

# model.text.normalize's placeholders, spelt as words the pretrained vocabulary knows
# ("<user>" would otherwise become the three pieces "<", "user", ">").
PLACEHOLDERS = {
    "<user>": "@user",
    "<url>": "http",
    "<num>": "number",
    "<smile>": "smile",
    "<sad>": "sad",
    "<heart>": "heart",
}
PLACEHOLDER = re.compile("|".join(re.escape(token) for token in PLACEHOLDERS))


def tweet_text(text: str) -> str:
    """The shared tweet normalisation (URLs, users, numbers, faces, emoji) with its
    placeholders turned back into plain words for the pretrained tokenizer."""
    return PLACEHOLDER.sub(lambda match: PLACEHOLDERS[match.group(0)], normalize(text))


def bert_tokenizer(vocab: dict[str, int], max_len: int | None) -> Tokenizer:
    """`[CLS] pieces [SEP]`, cut to `max_len` and right-padded with `[PAD]` (neither when
    `max_len` is None). The special tokens are not registered as added tokens, so a user
    who types "[SEP]" gets text."""
    tokenizer = Tokenizer(
        models.WordPiece(vocab, unk_token=UNK, max_input_chars_per_word=MAX_CHARS_PER_WORD)
    )
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{CLS} $A {SEP}", special_tokens=[(CLS, vocab[CLS]), (SEP, vocab[SEP])]
    )
    if max_len is not None:
        tokenizer.enable_truncation(max_len)
        tokenizer.enable_padding(length=max_len, pad_id=vocab[PAD], pad_token=PAD)
    return tokenizer


class WordPieceEncoder:
    """Token ids of shape [len(texts), max_len]; the TFLite graph derives its attention mask
    from the `[PAD]` zeros."""

    def __init__(self, vocab: dict[str, int], max_len: int, tweet_normalize: bool = True) -> None:
        self.vocab = vocab
        self.max_len = max_len
        self.tweet_normalize = tweet_normalize
        self._tokenizer = bert_tokenizer(vocab, max_len)
        self._unbounded = bert_tokenizer(vocab, None)

    @classmethod
    def from_file(cls, path: Path, max_len: int, tweet_normalize: bool = True) -> WordPieceEncoder:
        tokens = path.read_text(encoding="utf-8").split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()
        return cls({token: index for index, token in enumerate(tokens)}, max_len, tweet_normalize)

    def _prepared(self, texts: list[str] | tuple[str, ...]) -> list[str]:
        """Cut like every text the model reads (normalize cuts too), then cleaned if asked."""
        if self.tweet_normalize:
            return [tweet_text(text) for text in texts]
        return [clipped(text) for text in texts]

    def tokenize(self, text: str) -> list[str]:
        """The word pieces of one text, without `[CLS]`, `[SEP]`, padding or truncation."""
        (prepared,) = self._prepared([text])
        return self._unbounded.encode(prepared, add_special_tokens=False).tokens

    @property
    def oov_id(self) -> int:
        return self.vocab[UNK]

    @property
    def marker_ids(self) -> frozenset[int]:
        return frozenset({self.vocab[PAD], self.vocab[CLS], self.vocab[SEP]})

    def encode(self, texts: list[str] | tuple[str, ...]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.max_len), dtype=np.int32)
        encodings = self._tokenizer.encode_batch_fast(self._prepared(texts))
        return np.array([encoding.ids for encoding in encodings], dtype=np.int32)
