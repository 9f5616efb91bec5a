"""Lag of the `tweets.raw` partitions the scoring consumer owns, measured on an interval (not
on every poll): the metric and the handler's idle watermarks read the last whole map."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from confluent_kafka import Consumer, TopicPartition

from stream.kafka.offsets import Partition


class RawLag:
    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval_s = interval_s
        self._clock = clock
        self._next_at: float | None = None  # None: due now
        self.latest: dict[Partition, int] = {}

    def measure_when_due(self, consumer: Consumer, assigned: Collection[Partition]) -> None:
        now = self._clock()
        if self._next_at is not None and now < self._next_at:
            return
        self._next_at = now + self._interval_s
        self.latest = measured(consumer, assigned)

    def changed(self, assigned: Collection[Partition]) -> None:
        """After a rebalance: a partition gone drops out now, a new one is measured next."""
        self.latest = {p: left for p, left in self.latest.items() if p in assigned}
        self._next_at = None


def measured(consumer: Consumer, assigned: Collection[Partition]) -> dict[Partition, int]:
    """The map is replaced whole, so the metrics never read a half-made one."""
    lag: dict[Partition, int] = {}
    for tp in consumer.position([TopicPartition(*partition) for partition in assigned]):
        low, high = consumer.get_watermark_offsets(tp, cached=True)
        if tp.offset < 0 and 0 <= low == high:  # nothing read because there is nothing
            lag[(tp.topic, tp.partition)] = 0
        elif tp.offset >= 0 and high >= 0:
            lag[(tp.topic, tp.partition)] = max(0, high - tp.offset)
    return lag
