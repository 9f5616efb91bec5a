"""Prints sentiment events and alerts as they arrive, for people watching a terminal."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import Consumer

from stream.kafka import KafkaConnection

# What a terminal would act on rather than show: C0 and C1 controls (ESC starts CSI and OSC
# sequences, BEL, CR rewrites the line), DEL, the bidi marks that reorder the line, line and
# paragraph separators, and lone surrogates (which stdout cannot even encode).
_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_ACTED_ON = (*range(0x20), *range(0x7F, 0xA0), *_BIDI, 0x2028, 0x2029, *range(0xD800, 0xE000))
_NEUTRALISED = {code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" for code in _ACTED_ON}


def printable(line: str) -> str:
    """The line with every character a terminal would act on written as its escape."""
    return line.translate(_NEUTRALISED)


def format_line(topic: str, value: bytes) -> str:
    try:
        message = json.loads(value)
    except (ValueError, RecursionError):
        return f"[{topic}] {value[:200]!r}"
    try:
        return _describe(topic, message)
    except (TypeError, KeyError, ValueError, AttributeError):  # JSON, but not one of ours
        return f"[{topic}] {value[:200]!r}"


def _describe(topic: str, message: Any) -> str:
    if "label" in message:
        text = " ".join(str(message.get("text", "")).split())[:90]
        p_positive = message.get("p_positive")
        score = "   -" if p_positive is None else f"{p_positive:.2f}"  # not scored
        return f"[{topic}] {message['label']:>8} {score}  {text}"
    if "kind" in message:
        return (
            f"[{topic}] ALERT {message['status'].upper()} {message['kind']} scope="
            f"{message['scope']} count={message['count']}/{message['total']} "
            f"share={message['share']:.2f} ({message['threshold']})"
        )
    if "reason" in message:
        return (
            f"[{topic}] DEAD LETTER {message['reason']} from {message['source_topic']} "
            f"(partition {message['partition']}, offset {message['offset']}): {message['detail']}"
        )
    return f"[{topic}] {json.dumps(message)[:200]}"


def tail(
    kafka: KafkaConnection,
    topics: Sequence[str],
    *,
    from_beginning: bool = False,
    keep_going: Callable[[], bool] = lambda: True,
    emit: Callable[[str, str], None] = lambda topic, line: print(line, flush=True),
    render: Callable[[str, bytes], str] = format_line,
) -> int:
    """Follow `topics` with a throw-away consumer group; returns how many lines were shown.

    `render` turns a message into its line; the demo passes one that also counts it. Lines
    are shown through `printable`: a tweet's escape sequences never reach the terminal."""
    consumer = Consumer(
        kafka.librdkafka(
            {
                "group.id": f"badbuzz-tail-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest" if from_beginning else "latest",
                "enable.auto.commit": False,
            }
        )
    )
    consumer.subscribe(list(topics))
    shown = 0
    try:
        while keep_going():
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            emit(message.topic(), printable(render(message.topic(), message.value() or b"")))
            shown += 1
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return shown
