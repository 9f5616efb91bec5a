"""What the poll loop makes of librdkafka's messages: records, undecodable inputs to
dead-letter, and the offsets the batch covers."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, KafkaError, KafkaException

from stream.kafka.scoring.batches import input_batch

TOPIC = "tweets.raw"


@dataclass
class FakeMessage:
    partition_: int
    offset_: int | None
    error_: KafkaError | None = None
    value_: bytes = b"{}"

    def topic(self) -> str:
        return TOPIC

    def partition(self) -> int:
        return self.partition_

    def offset(self) -> int | None:
        return self.offset_

    def error(self) -> KafkaError | None:
        return self.error_

    def timestamp(self) -> tuple[int, int]:
        return TIMESTAMP_CREATE_TIME, 1_772_366_400_000

    def value(self) -> bytes:
        return self.value_


def test_an_undecodable_input_is_kept_for_its_dead_letter_and_its_offset() -> None:
    messages = [
        FakeMessage(0, 7),
        FakeMessage(0, 8, KafkaError(KafkaError._BAD_MSG)),
        FakeMessage(1, 3),
        FakeMessage(1, None, KafkaError(KafkaError._TRANSPORT)),  # of the moment: skipped
    ]
    batch = input_batch(messages, TOPIC)  # type: ignore[arg-type]
    assert [(r.partition, r.offset, r.timestamp) for r in batch.records] == [
        (0, 7, 1_772_366_400.0),
        (1, 3, 1_772_366_400.0),
    ]
    assert [(u.partition, u.first_offset) for u in batch.undecodable] == [(0, 8)]
    assert batch.ranges == {(TOPIC, 0): (7, 8), (TOPIC, 1): (3, 3)}


def test_a_fatal_client_error_is_raised() -> None:
    fatal = KafkaError(KafkaError._FENCED, "fenced", fatal=True)
    with pytest.raises(KafkaException):
        input_batch([FakeMessage(0, None, fatal)], TOPIC)  # type: ignore[list-item]
