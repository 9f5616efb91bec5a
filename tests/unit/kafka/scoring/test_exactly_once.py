"""Exactly once without a broker: one transaction per batch with its outputs and its input
offsets; an aborted one rewinds the batch's partitions and drops its `then`."""

from __future__ import annotations

from confluent_kafka import KafkaError

from stream.kafka.scoring.batches import HandledBatch
from stream.kafka.scoring.exactly_once import TransactionalSender
from stream.records import Outgoing
from tests.support import FakeConsumer, FakeProducer

RAW0, RAW1, RAW2 = ("tweets.raw", 0), ("tweets.raw", 1), ("tweets.raw", 2)


def transactional(producer: FakeProducer, consumer: FakeConsumer) -> TransactionalSender:
    return TransactionalSender(
        producer,  # type: ignore[arg-type]
        consumer,  # type: ignore[arg-type]
        {RAW0, RAW1},  # RAW2 was revoked meanwhile
        on_rejected=lambda message, error: [],
    )


def handled(done: list[str]) -> HandledBatch:
    outgoing = [
        Outgoing("tweets.sentiment", b"t-1", b"event"),
        Outgoing("tweets.deadletter", None, b"letter"),
    ]
    return HandledBatch(outgoing, lambda: done.append("counted"))


def test_a_batch_is_one_transaction_with_its_outputs_and_offsets() -> None:
    producer, consumer, done = FakeProducer(), FakeConsumer(), []
    sent = transactional(producer, consumer).send(handled(done), {RAW0: (5, 9), RAW1: (0, 2)})
    assert sent
    assert producer.transactions == ["begin", "offsets [(0, 10), (1, 3)]", "commit"]
    assert [topic for topic, _ in producer.produced] == ["tweets.sentiment", "tweets.deadletter"]
    assert done == ["counted"]


def test_an_aborted_transaction_rewinds_the_partitions_still_owned() -> None:
    producer, consumer, done = FakeProducer(), FakeConsumer(), []
    producer.fail_commit = KafkaError(KafkaError._STATE, "fenced", txn_requires_abort=True)
    sender = transactional(producer, consumer)
    sent = sender.send(handled(done), {RAW0: (5, 9), RAW2: (40, 41)})
    assert not sent
    assert producer.transactions[-1] == "abort"
    assert consumer.seeks == [(0, 5)]
    assert done == []
