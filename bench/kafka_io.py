"""Broker access for the benchmark: which broker, following outputs, reading timestamps."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from stream.kafka import KafkaConnection
from stream.kafka.local import KAFKA_VERSION, LocalKafka, free_port
from stream.settings import Settings

FETCH_MESSAGES = 10_000


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


def _consumer(kafka: KafkaConnection, **extra: str) -> Consumer:
    return Consumer(
        kafka.librdkafka(
            {
                "group.id": f"bench-reader-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "fetch.max.bytes": 50_000_000,
                **extra,
            }
        )
    )


class OutputReader:
    """Follows a contender's output topic from its start: key -> first CreateTime (ms).

    Progress is the number of distinct keys, not the offsets: an exactly-once contender's
    offsets include transaction markers and an at-least-once one may write a tweet twice.
    It reads committed records only, as the outputs' consumers do in exactly-once mode."""

    def __init__(self, kafka: KafkaConnection, topic: str) -> None:
        self.consumer = _consumer(kafka, **{"isolation.level": "read_committed"})
        partitions = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        self.stamps: dict[str, int] = {}

    def catch_up(self) -> int:
        """Reads what has been fetched so far, not what arrives meanwhile (the caller must
        get control back during a drain); returns the distinct keys seen so far."""
        while True:
            messages = self.consumer.consume(FETCH_MESSAGES, timeout=0.05)
            _keep_first(self.stamps, messages)
            if len(messages) < FETCH_MESSAGES:
                return len(self.stamps)

    def close(self) -> None:
        self.consumer.close()


def _keep_first(stamps: dict[str, int], messages: list[Message]) -> None:
    """A key seen twice keeps its earliest stamp: when it was first available downstream."""
    for message in messages:
        if message.error() is not None:
            continue
        key = (message.key() or b"").decode()
        stamp = message.timestamp()[1]
        if key not in stamps or stamp < stamps[key]:
            stamps[key] = stamp


def read_timestamps(kafka: KafkaConnection, topic: str) -> dict[str, int]:
    """key -> CreateTime (ms) of a whole (non-transactional) topic, read to its end."""
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
        messages = consumer.consume(FETCH_MESSAGES, timeout=1.0)
        _keep_first(stamps, messages)
        for message in messages:
            if message.error() is None and message.offset() + 1 >= ends[message.partition()]:
                remaining.discard(message.partition())
    consumer.close()
    return stamps
