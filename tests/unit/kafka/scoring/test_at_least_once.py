"""At least once without a broker: a partition's offset is stored only when every output of
every batch before it is acknowledged; failed outputs go again, refused ones become their
inputs' dead letters."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from stream.kafka.scoring import at_least_once
from stream.kafka.scoring.at_least_once import AtLeastOnceSender
from stream.kafka.scoring.batches import HandledBatch
from stream.records import Outgoing
from tests.support import FakeConsumer, FakeProducer

RAW0 = ("tweets.raw", 0)


@pytest.fixture(autouse=True)
def no_retry_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(at_least_once, "RETRY_PAUSE_S", 0.0)


def sender(
    producer: FakeProducer, consumer: FakeConsumer, on_rejected=lambda message, error: []
) -> AtLeastOnceSender:
    return AtLeastOnceSender(
        producer,  # type: ignore[arg-type]
        consumer,  # type: ignore[arg-type]
        {RAW0},
        depth=4,
        on_rejected=on_rejected,
    )


def batch(done: list[str], name: str, *values: bytes) -> HandledBatch:
    outgoing = [Outgoing("tweets.sentiment", None, value) for value in values]
    return HandledBatch(outgoing, lambda: done.append(name))


def test_an_offset_is_stored_only_once_every_earlier_batch_is_acknowledged() -> None:
    producer, consumer, done = FakeProducer(), FakeConsumer(), []
    alo = sender(producer, consumer)
    alo.send(batch(done, "first", b"a", b"b"), {RAW0: (0, 9)})
    alo.send(batch(done, "second", b"c"), {RAW0: (10, 19)})
    producer.ack(b"c")
    producer.ack(b"a")
    alo.serve()
    assert (consumer.stored, done) == ([], ["second"])  # offsets 0-9 may still be lost
    producer.ack(b"b")
    alo.serve()
    assert (consumer.stored, done) == ([(0, 20)], ["second", "first"])


def test_a_batch_with_nothing_to_send_is_safe_at_once() -> None:
    producer, consumer, done = FakeProducer(), FakeConsumer(), []
    sender(producer, consumer).send(batch(done, "idle"), {RAW0: (0, 3)})
    assert (consumer.stored, done) == ([(0, 4)], ["idle"])


def test_a_failed_output_is_sent_again_before_its_offsets_are_stored() -> None:
    producer, consumer, done = FakeProducer(), FakeConsumer(), []
    alo = sender(producer, consumer)
    alo.send(batch(done, "first", b"a"), {RAW0: (0, 0)})
    producer.ack(b"a", KafkaError(KafkaError._MSG_TIMED_OUT))
    alo.serve()  # the report, then the retry
    assert [value for _, value in producer.produced] == [b"a", b"a"]
    assert consumer.stored == []
    producer.ack(b"a")
    alo.serve()
    assert (consumer.stored, done) == ([(0, 1)], ["first"])


def test_an_output_refused_alone_too_is_replaced_by_its_inputs_dead_letters() -> None:
    producer, consumer, done = FakeProducer(), FakeConsumer(), []
    letter = Outgoing("tweets.deadletter", None, b"letter")
    alo = sender(producer, consumer, on_rejected=lambda message, error: [letter])
    too_large = KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)
    alo.send(batch(done, "first", b"huge", b"fine"), {RAW0: (0, 1)})
    producer.ack(b"huge", too_large)
    producer.ack(b"fine")
    alo.serve()  # refused in a record batch: sent once more alone
    assert [value for _, value in producer.produced] == [b"huge", b"fine", b"huge"]
    producer.ack(b"huge", too_large)
    alo.serve()
    assert producer.produced[-1] == ("tweets.deadletter", b"letter")
    assert consumer.stored == []
    producer.ack(b"letter")
    alo.serve()
    assert (consumer.stored, done) == ([(0, 2)], ["first"])


def test_a_drain_waits_for_the_batches_in_flight() -> None:
    producer, consumer, done = FakeProducer(), FakeConsumer(), []
    alo = sender(producer, consumer)
    alo.send(batch(done, "first", b"a"), {RAW0: (0, 0)})
    producer.ack(b"a")
    alo.drain(timeout_s=1.0)
    assert (consumer.stored, done) == ([(0, 1)], ["first"])
