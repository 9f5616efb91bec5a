"""The one text normalisation used by training and by the worker.

Training and serving must see identical tokens, so both call these functions; any change
here changes the model's input and needs a retrained bundle.
"""

from __future__ import annotations

import html
import re

URL = re.compile(r"(?:https?://|www\.)\S+|\b\S+\.(?:com|net|org|ly|co|fr|io)/\S*", re.IGNORECASE)
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


def normalize(text: str) -> str:
    """Lowercase text with URLs, users, numbers and faces replaced by placeholder tokens."""
    text = html.unescape(html.unescape(text)).lower()
    text = URL.sub(" <url> ", text)
    text = MENTION.sub(" <user> ", text)
    text = HASHTAG.sub(r" \1 ", text)
    text = EMOTICON.sub(lambda match: f" {FACE_TOKEN[match.group(0)]} ", text)
    text = text.translate(EMOJI_TABLE)
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = NUMBER.sub(" <num> ", text)
    text = REPEATED.sub(r"\1\1", text)
    text = REPEATED_PUNCT.sub(r"\1", text)
    return " ".join(text.split())


def tokenize(text: str) -> list[str]:
    """Tokens of the normalised text: words (with their apostrophe), `!`, `?`, placeholders."""
    return TOKEN.findall(normalize(text))
