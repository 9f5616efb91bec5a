"""At least once: outputs fly while the next batch is handled, and a partition's offset is
stored only when every output of every batch before it is acknowledged (OffsetTracker);
librdkafka commits the stored offsets on its interval, and on a revoke once drained."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from stream.kafka.offsets import OffsetTracker, Partition
from stream.kafka.producer import close_producer, is_rejected, produce_polling
from stream.kafka.scoring.batches import HandledBatch, Ranges, RejectedHandler
from stream.observability.metrics import PUBLISH_RETRIES
from stream.records import Outgoing

log = structlog.get_logger(__name__)
RETRY_PAUSE_S = 0.5


@dataclass
class InFlight:
    ranges: Ranges
    then: Callable[[], None]
    remaining: int
    failed: list[Outgoing] = field(default_factory=list)
    rejected: list[tuple[Outgoing, KafkaError]] = field(default_factory=list)
    sent_alone: set[int] = field(default_factory=set)  # ids of refused outputs tried alone


class AtLeastOnceSender:
    def __init__(
        self,
        producer: Producer,
        consumer: Consumer,
        assigned: set[Partition],
        *,
        depth: int,
        on_rejected: RejectedHandler,
    ) -> None:
        self._producer = producer
        self._consumer = consumer
        self._assigned = assigned  # the consumer's, kept up to date by its rebalances
        self._depth = depth
        self._on_rejected = on_rejected
        self._tracker = OffsetTracker()
        self._open: list[InFlight] = []
        self._retry: list[InFlight] = []

    def start(self) -> None:
        pass

    def send(self, handled: HandledBatch, ranges: Ranges) -> bool:
        """Produces the batch's outputs, after waiting for room among the batches in flight."""
        while len(self._open) >= self._depth:
            self._producer.poll(0.05)
        batch = InFlight(ranges, handled.then, remaining=len(handled.outgoing))
        self._open.append(batch)
        for partition, (first, last) in ranges.items():
            self._tracker.started(partition, first, last)
        if not handled.outgoing:
            self._finish(batch)
        for message in handled.outgoing:
            produce_polling(self._producer, message, partial(self._delivered, batch, message))
        return True

    def serve(self) -> None:
        """Delivery reports, then what they asked to send again."""
        self._producer.poll(0)
        self._send_retries()

    def drain(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while (self._open or self._retry) and time.monotonic() < deadline:
            self._send_retries()
            self._producer.poll(0.05)
        if self._open or self._retry:
            log.warning("drain_timed_out", batches_in_flight=len(self._open) + len(self._retry))

    def commit(self) -> None:
        if not self._assigned:
            return
        try:
            self._consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._NO_OFFSET:
                log.warning("commit_failed", error=exc.args[0].str())

    def forget(self, partitions: set[Partition]) -> None:
        self._tracker.forget(partitions)

    def close(self) -> None:
        close_producer(self._producer, timeout_s=10)

    def _delivered(
        self, batch: InFlight, message: Outgoing, error: KafkaError | None, _: Message | None
    ) -> None:
        if error is not None and is_rejected(error):
            batch.rejected.append((message, error))
        elif error is not None:
            batch.failed.append(message)
        batch.remaining -= 1
        if batch.remaining > 0:
            return
        if batch.failed:
            PUBLISH_RETRIES.inc(len(batch.failed))
            log.warning(
                "publish_failed_retrying",
                failed=len(batch.failed),
                error=error.str() if error is not None else None,
            )
        if batch.failed or batch.rejected:
            self._retry.append(batch)  # sent from the poll loop, not from this callback
            return
        self._finish(batch)

    def _send_retries(self) -> None:
        """Failed outputs again after a pause. A refused one is sent once more alone: the
        broker refuses a whole record batch for one message too large, so its neighbours
        were refused with it. Refused alone, it is replaced by its inputs' dead letters
        (what the handler makes of it: a refused dead letter is dropped)."""
        if not self._retry:
            return
        if any(batch.failed for batch in self._retry):
            time.sleep(RETRY_PAUSE_S)
        retry, self._retry = self._retry, []
        for batch in retry:
            pending, batch.failed = batch.failed, []
            alone = []
            for message, error in batch.rejected:
                if id(message) in batch.sent_alone:
                    pending += self._on_rejected(message, error)
                else:
                    batch.sent_alone.add(id(message))
                    alone.append(message)
            batch.rejected = []
            batch.remaining = len(pending) + len(alone)
            if batch.remaining == 0:
                self._finish(batch)
            for message in pending:
                produce_polling(self._producer, message, partial(self._delivered, batch, message))
            for message in alone:
                produce_polling(self._producer, message, partial(self._delivered, batch, message))
                self._producer.flush(30)

    def _finish(self, batch: InFlight) -> None:
        self._open.remove(batch)
        store = []
        for partition, (first, _) in batch.ranges.items():
            commit = self._tracker.delivered(partition, first)
            if commit is not None and partition in self._assigned:
                store.append(TopicPartition(*partition, commit))
        if store:
            self._consumer.store_offsets(offsets=store)
        batch.then()
