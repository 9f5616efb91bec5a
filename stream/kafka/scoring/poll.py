"""The scoring consumer's thread: read a batch, have it handled, give it to the sender, and
keep the group's partitions (a revoke drains what is in flight and commits it first)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

import structlog
from confluent_kafka import Consumer, Message, Producer, TopicPartition

from stream.kafka.offsets import Partition
from stream.kafka.scoring.at_least_once import AtLeastOnceSender
from stream.kafka.scoring.batches import (
    BatchHandler,
    HandledBatch,
    Ranges,
    RejectedHandler,
    input_batch,
)
from stream.kafka.scoring.config import ScoringConfig
from stream.kafka.scoring.exactly_once import TransactionalSender
from stream.kafka.scoring.handlers import HandlerPool
from stream.kafka.scoring.lag import RawLag

log = structlog.get_logger(__name__)

HANDLED_CHECK_S = 0.002  # how often a handled batch is looked for while the next one fills
DRAIN_ON_STOP_S = 20.0
DRAIN_ON_REVOKE_S = 10.0


class Sender(Protocol):
    def start(self) -> None: ...
    def send(self, handled: HandledBatch, ranges: Ranges) -> bool: ...
    def serve(self) -> None: ...
    def drain(self, timeout_s: float) -> None: ...
    def commit(self) -> None: ...
    def forget(self, partitions: set[Partition]) -> None: ...
    def close(self) -> None: ...


class ScoringConsumer:
    def __init__(
        self,
        config: ScoringConfig,
        handle: BatchHandler,
        *,
        on_failure: Callable[[BaseException], None],
        on_rejected: RejectedHandler = lambda message, error: [],
    ) -> None:
        self._config = config
        self._on_failure = on_failure
        self._handlers = HandlerPool(handle, config.handler_threads)
        self._consumer = Consumer(config.consumer())
        # changed in place only: the sender reads the same set
        self.assigned: set[Partition] = set()
        producer = Producer(config.producer())
        self._sender: Sender = (
            TransactionalSender(producer, self._consumer, self.assigned, on_rejected=on_rejected)
            if config.exactly_once
            else AtLeastOnceSender(
                producer,
                self._consumer,
                self.assigned,
                depth=config.max_batches_in_flight,
                on_rejected=on_rejected,
            )
        )
        self._lag = RawLag(config.lag_interval_s)
        self._last_handled = time.monotonic()
        self._filling: list[Message] = []  # read, not yet in a batch
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scoring-consumer", daemon=True)

    @property
    def lag(self) -> dict[Partition, int]:
        return self._lag.latest

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
        """Inputs never raise here (they are dead-lettered); what does is a handler's bug or
        the client's own fatal state, for `on_failure`."""
        try:
            self._consume_until_stopped()
        except Exception as exc:
            log.exception("scoring_consumer_failed", topic=self._config.topic)
            self._on_failure(exc)

    def _consume_until_stopped(self) -> None:
        self._sender.start()
        self._consumer.subscribe(
            [self._config.topic],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        try:
            while self._running.is_set():
                self._sender.serve()
                messages = self._next_batch()
                if messages or self._idle_tick_due():
                    self._process(messages)
                self._send_handled(wait=False)
                self._lag.measure_when_due(self._consumer, self.assigned)
            self._drain(DRAIN_ON_STOP_S)
            self._sender.commit()
        finally:
            self._handlers.shutdown()
            self._consumer.close()
            self._sender.close()

    def _next_batch(self) -> list[Message]:
        """Up to `batch_size` messages within `batch_wait_s`. While a handled batch waits to be
        sent, the wait is cut in slices so its outputs go out when it is done, not when the
        next batch is full."""
        deadline = time.monotonic() + self._config.batch_wait_s
        self._filling = []
        while True:
            remaining = deadline - time.monotonic()
            if self._handlers.busy:
                remaining = min(remaining, HANDLED_CHECK_S)
            wanted = self._config.batch_size - len(self._filling)
            self._filling += self._consumer.consume(wanted, max(0.0, remaining))
            self._send_handled(wait=False)
            if len(self._filling) >= self._config.batch_size or time.monotonic() >= deadline:
                messages, self._filling = self._filling, []
                return [m for m in messages if self._owned(m)]

    def _owned(self, message: Message) -> bool:
        """Of a partition still assigned, or a client error of none: what librdkafka read
        before a revoke in the same `consume` call is its new owner's."""
        return message.topic() is None or (message.topic(), message.partition()) in self.assigned

    def _idle_tick_due(self) -> bool:
        """With nothing to read, the handler still runs every `idle_tick_s` on an empty batch
        (the alert watermarks move on with the clock while the input is idle)."""
        return (
            bool(self.assigned)
            and time.monotonic() - self._last_handled >= self._config.idle_tick_s
        )

    def _process(self, messages: list[Message]) -> None:
        self._last_handled = time.monotonic()
        batch = input_batch(messages, self._config.topic)
        if messages and not batch.ranges:  # only passing client errors
            return
        self._handlers.submit(batch)
        self._send_handled(wait=self._handlers.full)

    def _send_handled(self, wait: bool) -> None:
        """Send handled batches in the order they were read: the oldest when it is done, or
        once `wait`, as soon as it is (so no more than `handler_threads` are handled at once)."""
        while (done := self._handlers.next_done(wait)) is not None:
            wait = False
            if not self._sender.send(*done):
                self._handlers.discard()

    def _drain(self, timeout_s: float) -> None:
        while self._handlers.busy:
            self._send_handled(wait=True)
        self._sender.drain(timeout_s)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        consumer.incremental_assign(partitions)
        self.assigned |= {(p.topic, p.partition) for p in partitions}
        self._lag.changed(self.assigned)
        log.info("partitions_assigned", partitions=sorted(p.partition for p in partitions))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._drain(DRAIN_ON_REVOKE_S)
        self._sender.commit()
        self._give_up(consumer, partitions)
        log.info("partitions_revoked", partitions=sorted(p.partition for p in partitions))

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Another worker owns them already: nothing of ours may be committed for them."""
        self._give_up(consumer, partitions)
        log.warning("partitions_lost", partitions=sorted(p.partition for p in partitions))

    def _give_up(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """What was read of them and not yet batched is the new owner's to read again, from
        the offset committed here."""
        keys = {(p.topic, p.partition) for p in partitions}
        # in place: `_next_batch` goes on extending this very list after the callback
        self._filling[:] = [m for m in self._filling if (m.topic(), m.partition()) not in keys]
        self._sender.forget(keys)
        self.assigned -= keys
        self._lag.changed(self.assigned)
        consumer.incremental_unassign(partitions)
