"""Prints sentiment events and alerts as they arrive, for people watching a terminal."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence

from confluent_kafka import Consumer

from stream.kafka import KafkaConnection


def format_line(topic: str, value: bytes) -> str:
    try:
        message = json.loads(value)
    except ValueError:
        return f"[{topic}] {value[:200]!r}"
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

    `render` turns a message into its line; the demo passes one that also counts it."""
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
            emit(message.topic(), render(message.topic(), message.value() or b""))
            shown += 1
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return shown
