"""Reading a compacted topic back: the latest value of every key, up to the topic's end as
it was when reading started. The alert state store reads a partition back this way, the
model follower its control topic, and retraining the labelled-feedback topic."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from stream.kafka.access import is_retriable
from stream.kafka.connection import KafkaConnection


def read_partition(
    kafka: KafkaConnection, topic: str, partition: int, timeout_s: float
) -> dict[bytes, bytes]:
    """The latest value of every key in one partition, as of its current end."""
    records, _ = read_partition_records(kafka, topic, partition, timeout_s)
    return {key: value for key, (_, value) in records.items()}


def read_partition_records(
    kafka: KafkaConnection, topic: str, partition: int, timeout_s: float
) -> tuple[dict[bytes, tuple[int, bytes]], int]:
    """The latest (offset, value) of every key in one partition, and the end offset it was
    read to (what a reader that wants only newer records next time remembers)."""
    consumer = reader_consumer(kafka, topic)
    try:
        deadline = time.monotonic() + timeout_s
        low, high = watermarks(consumer, TopicPartition(topic, partition), deadline)
        values: dict[bytes, tuple[int, bytes]] = {}
        if high <= low:
            return values, high
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
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
                values[key] = (message.offset(), message.value())
        return values, high
    finally:
        consumer.close()


# what a broker answers for a topic it learnt of a moment ago, or while a leader moves (and
# what the client says of a partition its metadata does not have yet)
SETTLING = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError._UNKNOWN_PARTITION,
    }
)


def passing(error: KafkaError) -> bool:
    """A moment's trouble (a broker away, a leader moving, a topic just created): ask again.
    A refusal (authentication, TLS, ACLs) is not one."""
    return is_retriable(error) or error.code() in SETTLING


def watermarks(consumer: Consumer, tp: TopicPartition, deadline: float) -> tuple[int, int]:
    """A partition's low and high offsets. Right after a topic is created, or while its
    leader moves, the broker answers with a retriable error for a moment: ask again."""
    while True:
        try:
            low, high = consumer.get_watermark_offsets(
                tp, timeout=max(0.1, deadline - time.monotonic())
            )
            return int(low), int(high)
        except KafkaException as exc:
            error = exc.args[0]
            if not passing(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def reader_consumer(
    kafka: KafkaConnection, topic: str, extra: dict[str, object] | None = None
) -> Consumer:
    """A consumer that reads `topic` by assignment, in no group and committing nothing, and
    says when it reaches a partition's end."""
    return Consumer(
        kafka.librdkafka(
            {
                "group.id": reader_group(topic),
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                **(extra or {}),
            }
        )
    )


def reader_group(topic: str) -> str:
    """librdkafka insists on a group id; this one is never joined nor committed to, and its
    prefix (`<topic>-reader-`) is what a prefixed ACL names."""
    return f"{topic}-reader-{uuid.uuid4().hex[:8]}"
