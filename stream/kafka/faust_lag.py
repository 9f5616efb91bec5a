"""Lag of the partitions Faust's consumer owns (feedback, signals), measured on a timer: the
consumer answers positions asynchronously, so the metric reads the last whole measurement."""

from __future__ import annotations

from collections.abc import Collection

from aiokafka.errors import IllegalStateError
from faust.types import ConsumerT

from stream.kafka.offsets import Partition


class FaustLag:
    def __init__(self, topics: Collection[str]) -> None:
        self._topics = topics
        self.latest: dict[Partition, int] = {}

    async def measure(self, consumer: ConsumerT) -> None:
        """A partition revoked while it is measured drops out. Asking its position then
        raises IllegalStateError ("Partition TP(...) is not assigned"), which, raised in a
        Faust timer, crashed the whole worker when another one joined the group."""
        lag: dict[Partition, int] = {}
        for tp in [tp for tp in consumer.assignment() if tp.topic in self._topics]:
            try:
                position = await consumer.position(tp)
                highwater = consumer.highwater(tp)
            except (IllegalStateError, AssertionError):  # aiokafka asserts in highwater()
                continue
            if position is not None and highwater is not None:
                lag[(tp.topic, tp.partition)] = max(0, highwater - position)
        self.latest = lag
