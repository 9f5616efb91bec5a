"""Where the alert windows keep their state: a small protocol, and an in-memory store for the
broker-less harness and tests. The worker's store writes through to a compacted topic
(stream/kafka/state_store.py)."""

from __future__ import annotations

from typing import Protocol

from stream.records import Outgoing


class StateStore(Protocol):
    topic: str

    async def partition(self, partition: int, generation: int) -> dict[bytes, bytes]:
        """The state of one signals partition, as of this group generation."""

    def put(self, partition: int, key: bytes, value: bytes) -> Outgoing:
        """Changes the state now; the caller delivers the returned message before it commits."""


class InMemoryStateStore:
    """The store without a broker: what was put is what is read, whatever the generation."""

    def __init__(self, topic: str = "alert-state") -> None:
        self.topic = topic
        self._values: dict[int, dict[bytes, bytes]] = {}

    async def partition(self, partition: int, generation: int) -> dict[bytes, bytes]:
        return self._values.setdefault(partition, {})

    def put(self, partition: int, key: bytes, value: bytes) -> Outgoing:
        self._values.setdefault(partition, {})[key] = value
        return Outgoing(self.topic, key, value, partition=partition)
