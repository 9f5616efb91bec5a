"""Alert window state, kept in memory per signals partition and written through to a
compacted topic, from which a worker reads a partition back when the group hands it over.

Faust's changelog-backed tables recover through the consumer that every agent shares, and
scoring waits while they do; on a group takeover that recovery could stall for minutes or
skip an input offset (faust-streaming 0.15.3, caught by tests/integration/test_resilience.py).
This store keeps a table's contract, a state change is acknowledged by the broker before
the signal that caused it is committed, without touching the shared consumer.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from stream.kafka import KafkaConnection
from stream.publish import Outgoing


def read_partition(
    kafka: KafkaConnection, topic: str, partition: int, timeout_s: float
) -> dict[bytes, bytes]:
    """The latest value of every key in one partition, as of its current end."""
    consumer = Consumer(
        kafka.librdkafka(
            {
                "group.id": reader_group(topic),
                "enable.auto.commit": False,
                "enable.partition.eof": True,
            }
        )
    )
    try:
        tp = TopicPartition(topic, partition)
        low, high = consumer.get_watermark_offsets(tp, timeout=timeout_s)
        values: dict[bytes, bytes] = {}
        if high <= low:
            return values
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        deadline = time.monotonic() + timeout_s
        position = low
        while position < high:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}[{partition}] not read to {high} in {timeout_s}s")
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    break  # compaction may have removed the last offsets before `high`
                raise KafkaException(error)
            position = message.offset() + 1
            key = message.key()
            if key is None:
                continue
            if message.value() is None:
                values.pop(key, None)
            else:
                values[key] = message.value()
        return values
    finally:
        consumer.close()


def reader_group(topic: str) -> str:
    """librdkafka insists on a group id; this one is never joined nor committed to, and its
    prefix (`<topic>-reader-`) is what a prefixed ACL names."""
    return f"{topic}-reader-{uuid.uuid4().hex[:8]}"


class PartitionedStateStore:
    def __init__(self, kafka: KafkaConnection, topic: str, read_timeout_s: float = 60.0) -> None:
        self._kafka = kafka
        self.topic = topic
        self._read_timeout_s = read_timeout_s
        self._values: dict[int, dict[bytes, bytes]] = {}
        self._read_in_generation: dict[int, int] = {}

    async def partition(self, partition: int, generation: int) -> dict[bytes, bytes]:
        """A partition's state, read back from the topic the first time it is asked for in a
        group generation: since this worker last held it, another may have changed it."""
        if self._read_in_generation.get(partition) != generation:
            self._values[partition] = await asyncio.to_thread(
                read_partition,
                self._kafka,
                self.topic,
                partition,
                self._read_timeout_s,
            )
            self._read_in_generation[partition] = generation
        return self._values[partition]

    def put(self, partition: int, key: bytes, value: bytes) -> Outgoing:
        """Changes the state now; the caller delivers the returned message before it commits."""
        self._values.setdefault(partition, {})[key] = value
        return Outgoing(self.topic, key, value, partition=partition)
