"""Tweet text in a notification is text in every medium, and bounded (stream/notify/escaping)."""

from __future__ import annotations

from stream.notify.escaping import html_text, markdown_text, plain_text

HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> "
    "[click](http://evil.example) **bold** @channel <!channel> "
    "\x1b[2J\x1b[31mred\x1b[0m \x1b]0;title\x07 bell\x07 line\nbreak\r\u2028sep "
    "\u202egnp.exe\u202c end"
)


def test_plain_text_drops_control_and_escape_sequences_and_bidi_overrides() -> None:
    text = plain_text(HOSTILE, 1000)
    assert "\x1b" not in text and "\x07" not in text
    assert "\n" not in text and "\r" not in text and "\u2028" not in text
    assert "\u202e" not in text and "\u202c" not in text
    assert "red" in text and "line break sep gnp.exe end" in text
    assert "[2J" not in text and "title" not in text


def test_every_medium_is_cut_to_the_limit_with_an_ellipsis() -> None:
    long = "word " * 200
    for render in (plain_text, html_text, markdown_text):
        assert render("short", 280) == "short"
    assert len(plain_text(long, 50)) == 50 and plain_text(long, 50).endswith("\u2026")
    assert len(html_text("<" * 100, 10)) == 9 * len("&lt;") + 1  # cut before escaping
    assert markdown_text(long, 50).endswith("\u2026")


def test_html_shows_markup_as_characters() -> None:
    text = html_text(HOSTILE, 1000)
    assert "<" not in text and ">" not in text and '"' not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_markdown_cannot_format_link_or_mention() -> None:
    text = markdown_text(HOSTILE, 1000)
    assert r"\[click\]\(http\:" in text
    assert r"\*\*bold\*\*" in text
    assert r"\<\!channel\>" in text
    assert "<!channel>" not in text and "](" not in text
