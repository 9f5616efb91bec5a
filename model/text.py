"""The one text normalisation used by training and by the worker.

Training and serving must see identical tokens, so both call these functions; any change
here changes the model's input and needs a retrained bundle.
"""

from __future__ import annotations

import html
import re

# Tweets hold at most 280 characters; HTML entities and extended tweets make some raw texts
# longer, so the cut is generous. Longer texts are scored on their first MAX_TEXT_CHARS
# characters, in training as in serving, and cleaning costs at most that much.
MAX_TEXT_CHARS = 2_000

# A URL takes the rest of its whitespace-free run, from `http(s)://` or `www.`, or from the
# first word character of a run that holds a domain like `.com/` further on. Written as a
# scan over runs rather than as one pattern: `\b\S+\.com/` retried at every word boundary
# was quadratic on text like `a.a.a.`.
RUN = re.compile(r"\S+")
URL_START = re.compile(r"(?:https?://|www\.)\S", re.IGNORECASE)
URL_DOMAIN = re.compile(r"\.(?:com|net|org|ly|co|fr|io)/", re.IGNORECASE)
WORD_CHAR = re.compile(r"\w")
MENTION = re.compile(r"@\w+")
HASHTAG = re.compile(r"#(\w+)")
NUMBER = re.compile(r"\b\d+(?:[.,:]\d+)*(?:st|nd|rd|th|h|am|pm|k)?\b")
REPEATED = re.compile(r"(\w)\1{2,}")
REPEATED_PUNCT = re.compile(r"([!?.])\1+")
TOKEN = re.compile(r"<\w+>|[^\W_]+(?:'[^\W_]+)?|[!?]")

# Sentiment140 stripped emoticons from its texts; SemEval and live tweets keep them, so
# they become words the model can learn from the human-labelled data.
EMOTICONS = {
    "<smile>": (":)", ":-)", ": )", ":d", ":-d", "=)", ";)", ";-)", ":p", ":-p", "xd", "^^", "^_^"),
    "<sad>": (":(", ":-(", ": (", ":'(", ":/", ":-/", "=(", ">:("),
    "<heart>": ("<3",),
}
EMOJI = {
    "<smile>": "😀😁😂🤣😃😄😅😆😉😊😋😎😍🥰😘🙂🤗🤩👍👏🙌🎉✨💯🔥😜😝🤪☺",
    "<sad>": "😞😟😠😡🤬😢😭😤😩😫😖😣☹🙁😒😔😕👎💩🤮🤢😱😨😰",
    "<heart>": "❤💕💖💗💓💞💘💙💚💛💜🧡🖤💝",
}


def _face_pattern(face: str) -> str:
    """Faces that begin or end with a letter (":d", "xd") must not be part of a word."""
    before = r"(?<![^\W_])" if face[0].isalnum() else ""
    after = r"(?![^\W_])" if face[-1].isalnum() else ""
    return before + re.escape(face) + after


EMOTICON = re.compile(
    "|".join(
        _face_pattern(face)
        for face in sorted(
            (f for faces in EMOTICONS.values() for f in faces), key=len, reverse=True
        )
    )
)
FACE_TOKEN = {face: token for token, faces in EMOTICONS.items() for face in faces}
EMOJI_TABLE = str.maketrans(
    {char: f" {token} " for token, chars in EMOJI.items() for char in chars}
)


def _url_replaced(run: re.Match[str]) -> str:
    """A whitespace-free run with the URL it holds, if any, replaced by `<url>`."""
    return _without_url(run.group(0), "<url>")


def _without_url(word: str, placeholder: str) -> str:
    """A whitespace-free word with the URL it holds, if any, replaced by `placeholder`. Only
    a word with a `/` or a `.` can hold one (see URL_START, URL_DOMAIN)."""
    if "/" not in word and "." not in word:
        return word
    starts = [found.start()] if (found := URL_START.search(word)) else []
    domain_at = max((found.start() for found in URL_DOMAIN.finditer(word)), default=-1)
    if (first_word_char := WORD_CHAR.search(word, 0, domain_at)) is not None:
        starts.append(first_word_char.start())
    return f"{word[: min(starts)]} {placeholder} " if starts else word


def clipped(text: str) -> str:
    """The part of a text the model reads: its first MAX_TEXT_CHARS characters."""
    return text[:MAX_TEXT_CHARS]


def normalize(text: str) -> str:
    """Lowercase text with URLs, users, numbers and faces replaced by placeholder tokens."""
    text = html.unescape(html.unescape(clipped(text))).lower()
    text = RUN.sub(_url_replaced, text)
    text = MENTION.sub(" <user> ", text)
    text = HASHTAG.sub(r" \1 ", text)
    text = EMOTICON.sub(lambda match: f" {FACE_TOKEN[match.group(0)]} ", text)
    text = text.translate(EMOJI_TABLE)
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = NUMBER.sub(" <num> ", text)
    text = REPEATED.sub(r"\1\1", text)
    text = REPEATED_PUNCT.sub(r"\1", text)
    return " ".join(text.split())


def with_placeholders(text: str, url: str, user: str) -> str:
    """The text with its URLs and user names replaced by `url` and `user`, all else kept (case,
    accents, emoji): for a model that reads text as its training data writes it."""
    words = [_without_url(word, url) for word in clipped(text).split()]
    return " ".join(MENTION.sub(user, " ".join(words)).split())


def tokenize(text: str) -> list[str]:
    """Tokens of the normalised text: words (with their apostrophe), `!`, `?`, placeholders."""
    return TOKEN.findall(normalize(text))
