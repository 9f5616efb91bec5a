import json
import unicodedata

import pytest

import stream.tools.tail as tail_module
from stream.kafka import KafkaConnection
from stream.settings import Settings
from stream.tools.tail import format_line, printable, tail


def test_a_dead_letter_line_names_its_source_topic_and_position() -> None:
    letter = {
        "source_topic": "tweets.feedback",
        "partition": 1,
        "offset": 12,
        "reason": "malformed_json",
        "detail": "Expecting value at line 1 col 1",
        "payload_base64": "",
    }
    assert format_line("tweets.deadletter", json.dumps(letter).encode()) == (
        "[tweets.deadletter] DEAD LETTER malformed_json from tweets.feedback "
        "(partition 1, offset 12): Expecting value at line 1 col 1"
    )


class FakeMessage:
    def __init__(self, topic: str, value: bytes) -> None:
        self._topic, self._value = topic, value

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return self._topic

    def value(self) -> bytes:
        return self._value


class FakeConsumer:
    """Hands out the given messages, then nothing."""

    def __init__(self, messages: list[FakeMessage]) -> None:
        self.messages = messages

    def subscribe(self, topics: list[str]) -> None:
        pass

    def poll(self, timeout: float) -> FakeMessage | None:
        return self.messages.pop(0) if self.messages else None

    def close(self) -> None:
        pass


HOSTILE_TEXT = (
    "\x1b[2J\x1b]0;owned\x07 \x1b[31mred\x9b1m \r\x08 \u202egnp.exe\u202c \u2066x\u2069 \ud800"
)


def test_tail_shows_escape_sequences_and_bidi_overrides_as_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event = {"label": "negative", "p_positive": 0.1, "text": HOSTILE_TEXT}
    alert = {
        "kind": "negative_sentiment",
        "status": "raised",
        "scope": "brand\x1b[8m",
        "count": 1,
        "total": 1,
        "share": 1.0,
        "threshold": "t",
    }
    values = [json.dumps(event).encode(), json.dumps(alert).encode(), b"\x1b]52;c;eA==\x07"]
    values += [b"[1]", b"3", b'{"label": 1}']
    messages = [FakeMessage("t", value) for value in values]
    monkeypatch.setattr(tail_module, "Consumer", lambda config: FakeConsumer(messages))
    lines: list[str] = []
    kafka = KafkaConnection.from_settings(Settings())
    shown = tail(
        kafka, ["t"], keep_going=lambda: bool(messages), emit=lambda t, line: lines.append(line)
    )
    assert shown == len(values) == len(lines)
    for line in lines:
        assert not any(unicodedata.category(c) in {"Cc", "Cs", "Zl", "Zp"} for c in line), line
        assert not set(line) & {"\u202e", "\u202c", "\u2066", "\u2069"}, line
        line.encode("utf-8")
    assert "\\x1b[2J" in lines[0] and "\\u202egnp.exe" in lines[0]
    assert "scope=brand\\x1b[8m" in lines[1]


def test_printable_keeps_ordinary_text_accents_and_emoji() -> None:
    assert printable("café 😡 ok, 50% — «quoted»") == "café 😡 ok, 50% — «quoted»"
    assert printable("a\tb\nc\x7f") == "a\\x09b\\x0ac\\x7f"
