"""Normalisation on the oddities real tweets carry."""

import pytest

from model.text import normalize, tokenize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@AirParadis thanks!", "<user> thanks!"),
        ("see http://t.co/AbC123 and www.example.com/x", "see <url> and <url>"),
        ("lost bags &amp; &quot;sorry&quot; &lt;3", 'lost bags & "sorry" <heart>'),
        ("Soooooo HAPPYYYY", "soo happyy"),
        ("#delayed again", "delayed again"),
        ("flight 1234 at 10:30pm", "flight <num> at <num>"),
        ("great:) but :( later", "great <smile> but <sad> later"),
        ("love it 😍😍 hate that 😡", "love it <smile> <smile> hate that <sad>"),
        ("can\u2019t wait!!!", "can't wait!"),
        ("   ", ""),
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_faces_inside_words_are_left_alone() -> None:
    assert "<smile>" not in normalize("the boxd set")
    assert "<sad>" not in normalize("he said: fine")


def test_tokens_keep_apostrophes_accents_and_placeholders() -> None:
    assert tokenize("I can't find my café crème @bob ?!") == [
        "i",
        "can't",
        "find",
        "my",
        "café",
        "crème",
        "<user>",
        "?",
        "!",
    ]
