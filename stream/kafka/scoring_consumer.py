"""`tweets.raw` on librdkafka: the scoring hot path, off Faust's per-message stream loop.

One thread owns a confluent-kafka Consumer (its own group, cooperative-sticky rebalancing,
offsets stored by hand). It takes up to `batch_size` messages in one call, hands them to a
batch handler (validate, score, build outputs: pure code that LiteRT runs without the GIL),
produces the outputs with librdkafka and goes on with the next batch while they fly.

At least once: a partition's offset is stored only when every output of every batch before it
is acknowledged (stream/kafka/offsets.py); on a revoke, in-flight batches are drained and the
offsets committed before the partitions go. Exactly once: each batch is one Kafka transaction
carrying its outputs and its input offsets, and a failed transaction rewinds the partitions.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import structlog
from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from stream.kafka.offsets import OffsetTracker, Partition
from stream.kafka.producer import (
    DeliveryReport,
    OutputRejected,
    close_producer,
    is_rejected,
    try_produce,
)
from stream.observability.metrics import PUBLISH_RETRIES
from stream.records import Outgoing, RawRecord, UndecodableBatch

log = structlog.get_logger(__name__)

Guarantee = Literal["at_least_once", "exactly_once"]
BatchHandler = Callable[[list[RawRecord], list[UndecodableBatch]], Awaitable["HandledBatch"]]
# What to send instead of an output Kafka refused for good: its inputs' dead letters.
RejectedHandler = Callable[[Outgoing, KafkaError], list[Outgoing]]

# Errors librdkafka attaches to one message it could not decode: that input is dead-lettered.
UNDECODABLE = frozenset(
    {
        KafkaError._BAD_MSG,
        KafkaError._BAD_COMPRESSION,
        KafkaError.INVALID_MSG,
        KafkaError.INVALID_RECORD,
        KafkaError.UNSUPPORTED_COMPRESSION_TYPE,
    }
)

HANDLED_CHECK_S = 0.002  # how often a handled batch is looked for while the next one fills


@dataclass
class HandledBatch:
    """What a batch handler returns: messages to produce, and what to do once they are safe."""

    outgoing: list[Outgoing]
    then: Callable[[], None] = lambda: None


@dataclass
class _InFlight:
    ranges: dict[Partition, tuple[int, int]]
    then: Callable[[], None]
    remaining: int
    failed: list[Outgoing] = field(default_factory=list)
    rejected: list[tuple[Outgoing, KafkaError]] = field(default_factory=list)
    sent_alone: set[int] = field(default_factory=set)  # ids of refused outputs tried alone


def record_of(message: Message) -> RawRecord:
    kind, timestamp_ms = message.timestamp()
    return RawRecord(
        topic=message.topic() or "",
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        timestamp=timestamp_ms / 1000 if kind and timestamp_ms > 0 else None,
        value=message.value(),
    )


def retrying(call: Callable[[], None], pause_s: float = 0.5) -> None:
    """librdkafka says which transactional calls may simply be made again."""
    while True:
        try:
            call()
            return
        except KafkaException as exc:
            if not exc.args[0].retriable():
                raise
            log.warning("transaction_call_retrying", error=exc.args[0].str())
            time.sleep(pause_s)


def offset_ranges(messages: Sequence[Message]) -> dict[Partition, tuple[int, int]]:
    """First and last offset per partition; a partition's messages arrive in offset order."""
    ranges: dict[Partition, tuple[int, int]] = {}
    for message in messages:
        key = (message.topic() or "", message.partition() or 0)
        offset = message.offset() or 0
        first, _ = ranges.get(key, (offset, offset))
        ranges[key] = (first, offset)
    return ranges


class ScoringConsumer:
    def __init__(
        self,
        client_config: dict[str, str | int | float | bool],
        *,
        topic: str,
        group_id: str,
        handle: BatchHandler,
        batch_size: int,
        batch_wait_s: float,
        max_batches_in_flight: int,
        commit_interval_s: float,
        session_timeout_s: float,
        guarantee: Guarantee,
        transactional_id: str,
        on_failure: Callable[[BaseException], None],
        handler_threads: int = 1,
        on_rejected: RejectedHandler = lambda message, error: [],
        idle_tick_s: float | None = None,
    ) -> None:
        self._topic = topic
        self._group_id = group_id
        self._handle = handle
        self._batch_size = batch_size
        self._batch_wait_s = batch_wait_s
        self._depth = max_batches_in_flight
        self._exactly_once = guarantee == "exactly_once"
        self._on_failure = on_failure
        self._on_rejected = on_rejected
        self._idle_tick_s = idle_tick_s
        self._last_handled = time.monotonic()
        # Batches handled side by side: the model runs without the GIL, so one batch's
        # inference overlaps the next one's parsing and tokenising (or the previous one's
        # transaction) on the second core. Outputs still go out in consumption order.
        self._handlers = (
            ThreadPoolExecutor(handler_threads, thread_name_prefix="scoring-handler")
            if handler_threads > 1
            else None
        )
        self._handler_threads = handler_threads
        self._handling: deque[tuple[Future[HandledBatch], dict[Partition, tuple[int, int]]]] = (
            deque()
        )
        self._consumer = Consumer(
            {
                **client_config,
                "group.id": group_id,
                "partition.assignment.strategy": "cooperative-sticky",
                "auto.offset.reset": "earliest",
                # prefetch seconds of tweets, not librdkafka's default of 100,000 messages or
                # 64 MB per partition: on a backlog that read-ahead was most of the RSS
                "queued.min.messages": 10_000,
                "queued.max.messages.kbytes": 4_096,
                "enable.auto.commit": not self._exactly_once,
                "enable.auto.offset.store": False,
                "auto.commit.interval.ms": int(commit_interval_s * 1000),
                "session.timeout.ms": int(session_timeout_s * 1000),
                "heartbeat.interval.ms": int(session_timeout_s * 250),
            }
        )
        producer_config: dict[str, str | int | float | bool] = {
            **client_config,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 2,
        }
        if self._exactly_once:
            # stable across this worker's restarts: the restarted worker fences its killed
            # predecessor and aborts the transaction it left open, instead of read_committed
            # consumers waiting for that transaction to time out
            producer_config["transactional.id"] = transactional_id
            producer_config["transaction.timeout.ms"] = 30_000
        self._producer = Producer(producer_config)
        self._tracker = OffsetTracker()
        self._open: list[_InFlight] = []
        self._retry: list[_InFlight] = []
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scoring-consumer", daemon=True)
        self.assigned: set[Partition] = set()
        self.lag: dict[Partition, int] = {}

    def start(self) -> None:
        self._running.set()
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the batches in flight and commit them, then leave the group."""
        self._running.clear()
        self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        """The handler is a coroutine (it shares the agents' retry and dead-letter path); it
        runs on this thread's own event loop, never on Faust's. Inputs never raise here (they
        are dead-lettered); what does is the client's own fatal state, for `on_failure`."""
        try:
            with asyncio.Runner() as runner:
                self._consume_until_stopped(runner)
        except Exception as exc:
            log.exception("scoring_consumer_failed", topic=self._topic)
            self._on_failure(exc)

    def _consume_until_stopped(self, runner: asyncio.Runner) -> None:
        if self._exactly_once:
            self._producer.init_transactions(30)
        self._consumer.subscribe(
            [self._topic],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        try:
            while self._running.is_set():
                self._producer.poll(0)
                self._send_retries()
                messages = self._next_batch()
                if messages or self._idle_tick_due():
                    self._process(messages, runner)
                self._send_handled(wait=False)
                self._measure_lag()
            self._drain(timeout_s=20.0)
            self._commit_stored()
        finally:
            if self._handlers is not None:
                self._handlers.shutdown(wait=True)
            self._consumer.close()
            close_producer(self._producer, timeout_s=10)

    def _next_batch(self) -> list[Message]:
        """Up to `batch_size` messages within `batch_wait_s`. While a handled batch waits to be
        sent, the wait is cut in slices so its outputs go out when it is done, not when the
        next batch is full (a 20 ms wait was added to most tweets' latency at half load)."""
        deadline = time.monotonic() + self._batch_wait_s
        messages: list[Message] = []
        while True:
            remaining = deadline - time.monotonic()
            if self._handling:
                remaining = min(remaining, HANDLED_CHECK_S)
            wanted = self._batch_size - len(messages)
            messages += self._consumer.consume(wanted, max(0.0, remaining))
            self._send_handled(wait=False)
            if len(messages) >= self._batch_size or time.monotonic() >= deadline:
                return messages

    def _idle_tick_due(self) -> bool:
        """With nothing to read, the handler still runs every `idle_tick_s` on an empty batch
        (the alert watermarks move on with the clock while the input is idle)."""
        return (
            self._idle_tick_s is not None
            and bool(self.assigned)
            and time.monotonic() - self._last_handled >= self._idle_tick_s
        )

    def _process(self, messages: list[Message], runner: asyncio.Runner) -> None:
        self._last_handled = time.monotonic()
        records: list[RawRecord] = []
        undecodable: list[UndecodableBatch] = []
        with_offsets: list[Message] = []
        for message in messages:
            error = message.error()
            if error is None:
                records.append(record_of(message))
                with_offsets.append(message)
            elif error.code() in UNDECODABLE and message.offset() is not None:
                offset = message.offset() or 0
                undecodable.append(
                    UndecodableBatch(
                        self._topic, message.partition() or 0, offset, offset, KafkaException(error)
                    )
                )
                with_offsets.append(message)
            elif error.fatal():
                raise KafkaException(error)
            else:
                log.warning("input_consumer_error", topic=self._topic, error=error.str())
        if messages and not with_offsets:
            return
        ranges = offset_ranges(with_offsets)
        if self._handlers is None:
            self._dispatch(runner.run(self._handle(records, undecodable)), ranges)
            return
        future = self._handlers.submit(asyncio.run, self._handle(records, undecodable))
        self._handling.append((future, ranges))
        self._send_handled(wait=len(self._handling) >= self._handler_threads)

    def _send_handled(self, wait: bool) -> None:
        """Send handled batches in the order they were consumed: the oldest when it is done,
        or once `wait`, as soon as it is (so no more than `handler_threads` are handled at
        once). A handler's exception is the consumer's failure (inputs never raise there)."""
        while self._handling and (wait or self._handling[0][0].done()):
            future, ranges = self._handling.popleft()
            self._dispatch(future.result(), ranges)
            wait = False

    def _dispatch(self, handled: HandledBatch, ranges: dict[Partition, tuple[int, int]]) -> None:
        if self._exactly_once:
            self._transact(handled, ranges)
        else:
            self._send(handled, ranges)

    def _send(self, handled: HandledBatch, ranges: dict[Partition, tuple[int, int]]) -> None:
        while len(self._open) >= self._depth:
            self._producer.poll(0.05)
        batch = _InFlight(ranges, handled.then, remaining=len(handled.outgoing))
        self._open.append(batch)
        for partition, (first, last) in ranges.items():
            self._tracker.started(partition, first, last)
        if not handled.outgoing:
            self._finish(batch)
        for message in handled.outgoing:
            self._produce(message, partial(self._delivered, batch, message))

    def _produce(self, message: Outgoing, on_delivery: DeliveryReport | None = None) -> None:
        while not try_produce(self._producer, message, on_delivery):
            self._producer.poll(0.01)  # the local queue is full: let it drain

    def _delivered(
        self, batch: _InFlight, message: Outgoing, error: KafkaError | None, _: Message | None
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
            time.sleep(0.5)
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
                self._produce(message, partial(self._delivered, batch, message))
            for message in alone:
                self._produce(message, partial(self._delivered, batch, message))
                self._producer.flush(30)

    def _finish(self, batch: _InFlight) -> None:
        self._open.remove(batch)
        store = []
        for partition, (first, _) in batch.ranges.items():
            commit = self._tracker.delivered(partition, first)
            if commit is not None and partition in self.assigned:
                store.append(TopicPartition(*partition, commit))
        if store:
            self._consumer.store_offsets(offsets=store)
        batch.then()

    def _transact(self, handled: HandledBatch, ranges: dict[Partition, tuple[int, int]]) -> None:
        offsets = [TopicPartition(*partition, last + 1) for partition, (_, last) in ranges.items()]
        self._producer.begin_transaction()
        try:
            for message in handled.outgoing:
                try:
                    self._produce(message)
                except OutputRejected as rejected:  # too large for the client itself
                    for letter in self._on_rejected(message, rejected.error):
                        self._produce(letter)
            metadata = self._consumer.consumer_group_metadata()
            if offsets:
                retrying(lambda: self._producer.send_offsets_to_transaction(offsets, metadata, 30))
            retrying(lambda: self._producer.commit_transaction(60))
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if not error.txn_requires_abort():
                raise
            log.warning("transaction_aborted_rewinding", error=error.str())
            self._producer.abort_transaction(30)
            self._discard_handling()
            self._rewind(ranges)
            return
        handled.then()

    def _discard_handling(self) -> None:
        """Batches handled after an aborted one are read again from the rewound position."""
        while self._handling:
            future, _ = self._handling.popleft()
            future.exception()  # wait for it; its outputs are dropped either way

    def _rewind(self, ranges: dict[Partition, tuple[int, int]]) -> None:
        """An aborted batch is read again from its first offset, which nothing committed past."""
        for partition, (first, _) in ranges.items():
            if partition in self.assigned:
                self._consumer.seek(TopicPartition(*partition, first))

    def _drain(self, timeout_s: float) -> None:
        while self._handling:
            self._send_handled(wait=True)
        deadline = time.monotonic() + timeout_s
        while (self._open or self._retry) and time.monotonic() < deadline:
            self._send_retries()
            self._producer.poll(0.05)
        if self._open or self._retry:
            log.warning("drain_timed_out", batches_in_flight=len(self._open) + len(self._retry))

    def _commit_stored(self) -> None:
        if self._exactly_once or not self.assigned:
            return
        try:
            self._consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._NO_OFFSET:
                log.warning("commit_failed", error=exc.args[0].str())

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        consumer.incremental_assign(partitions)
        self.assigned |= {(p.topic, p.partition) for p in partitions}
        log.info("partitions_assigned", partitions=sorted(p.partition for p in partitions))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        keys = {(p.topic, p.partition) for p in partitions}
        self._drain(timeout_s=10.0)
        self._commit_stored()
        self._tracker.forget(keys)
        self.assigned -= keys
        consumer.incremental_unassign(partitions)
        log.info("partitions_revoked", partitions=sorted(p.partition for p in partitions))

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Another worker owns them already: nothing of ours may be committed for them."""
        keys = {(p.topic, p.partition) for p in partitions}
        self._tracker.forget(keys)
        self.assigned -= keys
        consumer.incremental_unassign(partitions)
        log.warning("partitions_lost", partitions=sorted(p.partition for p in partitions))

    def _measure_lag(self) -> None:
        """Lag of the partitions owned now, replaced whole: a revoked or lost partition drops
        out, and the metrics timer on Faust's thread never reads a half-made map."""
        lag: dict[Partition, int] = {}
        for tp in self._consumer.position(
            [TopicPartition(*partition) for partition in self.assigned]
        ):
            low, high = self._consumer.get_watermark_offsets(tp, cached=True)
            if tp.offset < 0 and 0 <= low == high:  # nothing read because there is nothing
                lag[(tp.topic, tp.partition)] = 0
            elif tp.offset >= 0 and high >= 0:
                lag[(tp.topic, tp.partition)] = max(0, high - tp.offset)
        self.lag = lag
