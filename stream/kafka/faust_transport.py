"""Faust's aiokafka transport, except that a record batch it cannot decode is skipped, not fatal.

aiokafka decodes a fetched batch while `getmany` iterates it. A batch it cannot decode (a codec
library missing, a corrupt batch) raises out of `getmany` and takes the worker down, and since
the offsets were never committed, every restart fetches the same batch and dies again. Here the
fetcher's per-partition results are guarded as aiokafka stores them: an undecodable batch ends
its partition's records (those before it are still returned), the partition's position moves
past it, and the worker's handler dead-letters it before any later record of that partition is
returned. Faust then commits past the skipped offsets as a gap once later records are acked.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, cast

from aiokafka.consumer.fetcher import FetchResult, PartitionRecords
from aiokafka.structs import TopicPartition
from faust.transport.consumer import RecordMap
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from stream.records import UndecodableBatch

UndecodableHandler = Callable[[UndecodableBatch], Awaitable[None]]


class _LastBatchRecords:
    """aiokafka's MemoryRecords, remembering the last batch header read: once decoding
    fails the fetcher's iterator is gone, and the header is what says where the batch ends."""

    def __init__(self, records: Any) -> None:
        self._records = records
        self.last_batch: Any = None

    def has_next(self) -> bool:
        return bool(self._records.has_next())

    def next_batch(self) -> Any:
        self.last_batch = None  # a header that fails to parse must not leave a stale one
        self.last_batch = self._records.next_batch()
        return self.last_batch


def guard_partition_records(
    tp: TopicPartition, records: PartitionRecords, found: Callable[[UndecodableBatch], None]
) -> None:
    """Make `records` stop at an undecodable batch, with its next fetch offset past it.

    Must run before the records are first iterated: aiokafka's iterator reads the batches
    from `records._records` when it starts."""
    tracked = _LastBatchRecords(records._records)
    records._records = tracked
    records._records_iterator = _stop_at_undecodable(
        tp, records, records._records_iterator, tracked, found
    )


def _stop_at_undecodable(
    tp: TopicPartition,
    records: PartitionRecords,
    unpacked: Iterator[Any],
    tracked: _LastBatchRecords,
    found: Callable[[UndecodableBatch], None],
) -> Iterator[Any]:
    try:
        yield from unpacked
    except Exception as error:
        batch = tracked.last_batch
        first = records.next_fetch_offset
        if batch is None:  # a header too corrupt to read: skip one offset, refetch the rest
            end = first + 1
        else:  # offsets of a compacted partition may jump to the batch's first one
            first = max(first, batch.base_offset)
            end = max(batch.next_offset, first + 1)
        records.next_fetch_offset = end
        found(UndecodableBatch(tp.topic, tp.partition, first, end - 1, error))


class GuardedFetchResults(OrderedDict[TopicPartition, Any]):
    """The fetcher's `_records`: guards each partition's records as the fetcher stores them."""

    def __init__(self, found: Callable[[UndecodableBatch], None]) -> None:
        super().__init__()
        self._found = found

    def __setitem__(self, tp: TopicPartition, result: Any) -> None:
        if isinstance(result, FetchResult) and result._partition_records is not None:
            guard_partition_records(tp, result._partition_records, self._found)
        super().__setitem__(tp, result)


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def __post_init__(self) -> None:
        super().__post_init__()
        self._undecodable: list[UndecodableBatch] = []

    async def on_start(self) -> None:
        await super().on_start()
        fetcher = self._ensure_consumer()._fetcher
        guarded = GuardedFetchResults(self._undecodable.append)
        for tp, result in fetcher._records.items():
            guarded[tp] = result
        fetcher._records = guarded

    async def _fetch_records(
        self,
        consumer: Any,
        active_partitions: set[TP],
        timeout: float | None = None,
        max_records: int | None = None,
    ) -> RecordMap:
        """The fetched records, once every undecodable batch met while fetching them has
        been handed to the handler (so it is dead-lettered before anything after it)."""
        records = await super()._fetch_records(consumer, active_partitions, timeout, max_records)
        handler = cast("Transport", self.transport).on_undecodable
        while self._undecodable:
            await handler(self._undecodable.pop(0))
        return records


class Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    """Set as `app.transport`; `on_undecodable` runs on the consumer's thread and event loop."""

    Consumer = Consumer

    def __init__(self, url: Any, app: Any, on_undecodable: UndecodableHandler) -> None:
        super().__init__(url, app)
        self.on_undecodable = on_undecodable
