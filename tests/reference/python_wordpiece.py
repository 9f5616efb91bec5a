"""The pure-Python BERT WordPiece encoder badbuzz served with until it moved to the
`tokenizers` package: kept here only as the reference that the parity test holds the Rust
encoder to, id for id. It was itself property-tested against the MiniLM package's shipped
tokenizer.json.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np

from model.wordpiece import CLS, MAX_CHARS_PER_WORD, SEP, UNK, tweet_text

MAX_CACHED_WORDS = 500_000

# ASCII text (most tweets) takes a regex path with the same result as the per-character one:
# control characters go, every printable non-alphanumeric character is a word of its own.
ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ASCII_WORD = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")


def _is_whitespace(char: str) -> bool:
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def _is_control(char: str) -> bool:
    return char not in "\t\n\r" and unicodedata.category(char) in ("Cc", "Cf")


def _is_punctuation(char: str) -> bool:
    """BERT counts every non-alphanumeric ASCII character as punctuation (`$`, `^`, `` ` ``),
    not only Unicode's P* categories."""
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F
        or 0x2B740 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


def basic_tokenize(text: str) -> list[str]:
    """BERT's BasicTokenizer (do_lower_case=True, strip_accents unset so it follows
    lowercasing, tokenize_chinese_chars=True)."""
    if text.isascii():
        return ASCII_WORD.findall(ASCII_CONTROL.sub("", text.lower()))
    chars: list[str] = []
    for char in text:
        code = ord(char)
        if code == 0 or code == 0xFFFD or _is_control(char):
            continue
        if _is_whitespace(char):
            chars.append(" ")
        elif _is_cjk(code):
            chars.extend((" ", char, " "))
        else:
            chars.append(char)
    words: list[str] = []
    for word in "".join(chars).split():
        word = unicodedata.normalize("NFD", word.lower())
        word = "".join(c for c in word if unicodedata.category(c) != "Mn")
        current: list[str] = []
        for char in word:
            if _is_punctuation(char):
                if current:
                    words.append("".join(current))
                    current = []
                words.append(char)
            else:
                current.append(char)
        if current:
            words.append("".join(current))
    return words


class PythonWordPieceEncoder:
    """Token ids `[CLS] pieces [SEP]`, right-padded with `[PAD]` (id 0) to `max_len`; the
    TFLite graph derives its attention mask from the zeros."""

    def __init__(self, vocab: dict[str, int], max_len: int, tweet_normalize: bool = True) -> None:
        self.vocab = vocab
        self.max_len = max_len
        self.tweet_normalize = tweet_normalize
        # Tweets repeat the same words: caching their pieces makes encoding several times faster.
        self._pieces: dict[str, list[str]] = {}

    @classmethod
    def from_file(
        cls, path: Path, max_len: int, tweet_normalize: bool = True
    ) -> PythonWordPieceEncoder:
        tokens = path.read_text(encoding="utf-8").split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()
        return cls({token: index for index, token in enumerate(tokens)}, max_len, tweet_normalize)

    def word_pieces(self, word: str) -> list[str]:
        """Greedy longest-match-first; a word with any unmatchable part is one `[UNK]`."""
        if len(word) > MAX_CHARS_PER_WORD:
            return [UNK]
        pieces: list[str] = []
        start = 0
        while start < len(word):
            end = len(word)
            piece = None
            while start < end:
                candidate = word[start:end] if start == 0 else "##" + word[start:end]
                if candidate in self.vocab:
                    piece = candidate
                    break
                end -= 1
            if piece is None:
                return [UNK]
            pieces.append(piece)
            start = end
        return pieces

    def tokenize(self, text: str) -> list[str]:
        if self.tweet_normalize:
            text = tweet_text(text)
        pieces: list[str] = []
        for word in basic_tokenize(text):
            cached = self._pieces.get(word)
            if cached is None:
                cached = self.word_pieces(word)
                if len(self._pieces) < MAX_CACHED_WORDS:
                    self._pieces[word] = cached
            pieces.extend(cached)
        return pieces

    def encode(self, texts: list[str] | tuple[str, ...]) -> np.ndarray:
        ids = np.zeros((len(texts), self.max_len), dtype=np.int32)
        cls_id, sep_id, unk_id = self.vocab[CLS], self.vocab[SEP], self.vocab[UNK]
        lookup = self.vocab.get
        for row, text in enumerate(texts):
            pieces = [lookup(p, unk_id) for p in self.tokenize(text)][: self.max_len - 2]
            ids[row, : len(pieces) + 2] = [cls_id, *pieces, sep_id]
        return ids
