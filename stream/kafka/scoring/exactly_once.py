"""Exactly once: each handled batch is one Kafka transaction carrying its outputs (dead
letters included) and its input offsets. A transaction that must be aborted rewinds the
batch's partitions to its first offsets, which nothing committed past."""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from stream.kafka.offsets import Partition
from stream.kafka.producer import OutputRejected, close_producer, produce_polling
from stream.kafka.scoring.batches import HandledBatch, Ranges, RejectedHandler

log = structlog.get_logger(__name__)


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


class TransactionalSender:
    def __init__(
        self,
        producer: Producer,
        consumer: Consumer,
        assigned: set[Partition],
        *,
        on_rejected: RejectedHandler,
    ) -> None:
        self._producer = producer
        self._consumer = consumer
        self._assigned = assigned  # the consumer's, kept up to date by its rebalances
        self._on_rejected = on_rejected

    def start(self) -> None:
        self._producer.init_transactions(30)

    def send(self, handled: HandledBatch, ranges: Ranges) -> bool:
        """One transaction; False when it was aborted and the partitions rewound (the batches
        handled after this one are to be dropped: they are read again)."""
        offsets = [TopicPartition(*partition, last + 1) for partition, (_, last) in ranges.items()]
        self._producer.begin_transaction()
        try:
            for message in handled.outgoing:
                try:
                    produce_polling(self._producer, message)
                except OutputRejected as rejected:  # too large for the client itself
                    for letter in self._on_rejected(message, rejected.error):
                        produce_polling(self._producer, letter)
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
            self._rewind(ranges)
            return False
        handled.then()
        return True

    def serve(self) -> None:
        self._producer.poll(0)

    def drain(self, timeout_s: float) -> None:
        """Nothing is in flight between transactions."""

    def commit(self) -> None:
        """The offsets were committed with each transaction."""

    def forget(self, partitions: set[Partition]) -> None:
        pass

    def close(self) -> None:
        close_producer(self._producer, timeout_s=10)

    def _rewind(self, ranges: Ranges) -> None:
        for partition, (first, _) in ranges.items():
            if partition in self._assigned:
                self._consumer.seek(TopicPartition(*partition, first))
