"""Broker access for the benchmark: which broker, topic progress, and reading timestamps."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from stream.kafka import KafkaConnection
from stream.kafka.local import KAFKA_VERSION, LocalKafka, free_port
from stream.settings import Settings


@contextmanager
def broker() -> Iterator[tuple[KafkaConnection, str]]:
    """(connection, kafka version): the settings' cluster when KAFKA_BOOTSTRAP_SERVERS is set,
    else a throwaway local broker."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield KafkaConnection.from_settings(Settings()), "external"
        return
    with tempfile.TemporaryDirectory(prefix="badbuzz-bench-kafka-") as workdir:
        kafka = LocalKafka(Path(workdir), free_port())
        try:
            yield KafkaConnection(kafka.start()), KAFKA_VERSION
        finally:
            kafka.stop()


def _consumer(kafka: KafkaConnection) -> Consumer:
    return Consumer(
        kafka.librdkafka(
            {
                "group.id": f"bench-reader-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "fetch.max.bytes": 50_000_000,
            }
        )
    )


def message_count(kafka: KafkaConnection, topic: str, consumer: Consumer | None = None) -> int:
    """Sum of high watermarks: cheap progress polling that does not compete for CPU."""
    owned = consumer is None
    consumer = consumer or _consumer(kafka)
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in meta.partitions
        )
    finally:
        if owned:
            consumer.close()


def read_timestamps(kafka: KafkaConnection, topic: str) -> dict[str, int]:
    """key -> CreateTime (ms) of a whole topic; a key seen twice (at-least-once) keeps the
    first, which is when the event was first available downstream."""
    consumer = _consumer(kafka)
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    ends = {
        p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
        for p in meta.partitions
    }
    consumer.assign([TopicPartition(topic, p, 0) for p in ends])
    remaining = {p for p, end in ends.items() if end > 0}
    stamps: dict[str, int] = {}
    while remaining:
        for message in consumer.consume(10_000, timeout=1.0):
            if message.error() is not None:
                continue
            key = (message.key() or b"").decode()
            stamp = message.timestamp()[1]
            if key not in stamps or stamp < stamps[key]:
                stamps[key] = stamp
            if message.offset() + 1 >= ends[message.partition()]:
                remaining.discard(message.partition())
    consumer.close()
    return stamps
