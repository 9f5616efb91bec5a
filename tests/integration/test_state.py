"""The alert state store on a real broker: write-through, read back per partition, and
re-read when the group hands a partition over."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from stream.kafka import KafkaConnection
from stream.kafka.compacted import read_partition
from stream.kafka.producer import OutputProducer
from stream.kafka.state_store import PartitionedStateStore
from stream.kafka.topics import ensure_topics

pytestmark = pytest.mark.integration


@pytest.fixture
def kafka(kafka_bootstrap: str) -> KafkaConnection:
    return KafkaConnection(kafka_bootstrap)


@pytest.fixture
def state_topic(kafka: KafkaConnection) -> str:
    topic = f"state-{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka, [topic], partitions=2, compacted=[topic])
    return topic


def test_a_partition_reads_back_the_last_value_of_each_key(
    kafka: KafkaConnection, state_topic: str
) -> None:
    store = PartitionedStateStore(kafka, state_topic)
    producer = OutputProducer(kafka)
    writes = [
        store.put(1, b"negative_sentiment|global", b"v1"),
        store.put(1, b"negative_feedback|global", b"f1"),
        store.put(1, b"negative_sentiment|global", b"v2"),
        store.put(0, b"negative_sentiment|other", b"elsewhere"),
    ]
    asyncio.run(producer.deliver(writes))
    producer.close()

    assert read_partition(kafka, state_topic, 1, timeout_s=30) == {
        b"negative_sentiment|global": b"v2",
        b"negative_feedback|global": b"f1",
    }
    assert read_partition(kafka, state_topic, 0, timeout_s=30) == {
        b"negative_sentiment|other": b"elsewhere"
    }


def test_a_partition_is_read_again_in_a_new_generation_only(
    kafka: KafkaConnection, state_topic: str
) -> None:
    mine = PartitionedStateStore(kafka, state_topic)
    peer = PartitionedStateStore(kafka, state_topic)
    producer = OutputProducer(kafka)

    async def scenario() -> tuple[dict, dict, dict]:
        empty = dict(await mine.partition(0, generation=1))
        await producer.deliver([mine.put(0, b"k", b"mine")])
        await producer.deliver([peer.put(0, b"k", b"peer's, while it held the partition")])
        same_generation = dict(await mine.partition(0, generation=1))
        handed_back = dict(await mine.partition(0, generation=2))
        return empty, same_generation, handed_back

    empty, same_generation, handed_back = asyncio.run(scenario())
    producer.close()
    assert empty == {}
    assert same_generation == {b"k": b"mine"}
    assert handed_back == {b"k": b"peer's, while it held the partition"}
