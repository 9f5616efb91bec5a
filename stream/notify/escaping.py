"""Untrusted text (a tweet) made safe for the medium that shows it, and cut to a bound.

`plain_text` is the base of every medium: no control characters, no terminal escape
sequences, no bidirectional overrides (which can make a line read backwards), one line,
at most `limit` characters. The others escape that for HTML or Markdown.
"""

from __future__ import annotations

import html
import re
import unicodedata

ELLIPSIS = "\u2026"
TERMINAL_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.)?")
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<&:])")


def plain_text(text: str, limit: int) -> str:
    """One line of at most `limit` characters that a terminal, a mail client or a log
    shows as it reads; an ellipsis marks a cut."""
    text = TERMINAL_ESCAPE.sub("", text)
    text = "".join(
        " " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char
        for char in text
        if char not in BIDI_CONTROLS
    )
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


def html_text(text: str, limit: int) -> str:
    """For an HTML page or body: markup shows as characters, quotes cannot end an attribute."""
    return html.escape(plain_text(text, limit), quote=True)


def markdown_text(text: str, limit: int) -> str:
    """For Markdown chat messages: every character Markdown (or Slack's `<!channel>` links)
    would interpret is backslash-escaped, so a tweet cannot format, link or mention."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", plain_text(text, limit))
