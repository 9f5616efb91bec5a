"""What a batch handler is given and returns: records read from `tweets.raw`, and the
messages to produce with what to do once they are safe."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog
from confluent_kafka import KafkaError, KafkaException, Message

from stream.kafka.offsets import Partition
from stream.records import Outgoing, RawRecord, UndecodableBatch

log = structlog.get_logger(__name__)

# First and last offset of a batch, per partition.
Ranges = dict[Partition, tuple[int, int]]

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


@dataclass
class HandledBatch:
    """What a batch handler returns: messages to produce, and what to do once they are safe.
    `in_order` makes more messages on the consumer's thread when the batch comes out, in read
    order, after every earlier batch's: what must not see a later batch (the watermarks)."""

    outgoing: list[Outgoing]
    then: Callable[[], None] = lambda: None
    in_order: Callable[[], list[Outgoing]] = list

    def completed(self) -> HandledBatch:
        return HandledBatch(self.outgoing + self.in_order(), self.then)


# Makes a batch's handled batch, synchronously, on a handler thread.
BatchWork = Callable[[], HandledBatch]
# Records and undecodable inputs in, the work that handles them out: called on the consumer's
# thread in read order, so what must follow that order is decided there (the model a batch
# is scored with). Inputs never raise in either (they are dead-lettered); what does is a bug,
# the consumer's failure.
BatchHandler = Callable[[list[RawRecord], list[UndecodableBatch]], BatchWork]
# What to send instead of an output Kafka refused for good: its inputs' dead letters.
RejectedHandler = Callable[[Outgoing, KafkaError], list[Outgoing]]


@dataclass
class InputBatch:
    records: list[RawRecord]
    undecodable: list[UndecodableBatch]
    ranges: Ranges  # of every input with an offset, decoded or not


def input_batch(messages: Sequence[Message], topic: str) -> InputBatch:
    """Records, and the inputs librdkafka could not decode; a fatal client error raises, a
    passing one (no offset) is logged and skipped."""
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
            partition = message.partition() or 0
            undecodable.append(
                UndecodableBatch(topic, partition, offset, offset, KafkaException(error))
            )
            with_offsets.append(message)
        elif error.fatal():
            raise KafkaException(error)
        else:
            log.warning("input_consumer_error", topic=topic, error=error.str())
    return InputBatch(records, undecodable, offset_ranges(with_offsets))


def record_of(message: Message) -> RawRecord:
    kind, timestamp_ms = message.timestamp()
    return RawRecord(
        topic=message.topic() or "",
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        timestamp=timestamp_ms / 1000 if kind and timestamp_ms > 0 else None,
        value=message.value(),
    )


def offset_ranges(messages: Sequence[Message]) -> Ranges:
    """First and last offset per partition; a partition's messages arrive in offset order."""
    ranges: Ranges = {}
    for message in messages:
        key = (message.topic() or "", message.partition() or 0)
        offset = message.offset() or 0
        first, _ = ranges.get(key, (offset, offset))
        ranges[key] = (first, offset)
    return ranges
