"""Alert window state, kept in memory per signals partition and written through to a
compacted topic, from which a worker reads a partition back when the group hands it over.

Faust's changelog-backed tables recover through the consumer that every agent shares, and
scoring waited while they did; on a group takeover that recovery could stall for minutes or
skip an input offset (faust-streaming 0.15.3, caught by tests/integration/test_resilience.py).
This store keeps a table's contract, a state change is acknowledged by the broker before
the signal that caused it is committed, without touching the shared consumer. It follows
stream/alerts/store.py's `StateStore` protocol.
"""

from __future__ import annotations

import asyncio

from stream.kafka.compacted import read_partition
from stream.kafka.connection import KafkaConnection
from stream.records import Outgoing


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
