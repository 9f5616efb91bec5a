"""The undecodable-batch guard on aiokafka's own record classes, fed hand-built batches."""

import struct

import pytest
from aiokafka.consumer.fetcher import READ_UNCOMMITTED, FetchResult, PartitionRecords
from aiokafka.errors import CorruptRecordException, UnsupportedCodecError
from aiokafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.record.util import calc_crc32c
from aiokafka.structs import TopicPartition

from stream.kafka.faust_transport import GuardedFetchResults, guard_partition_records
from stream.records import UndecodableBatch

TP = TopicPartition("tweets.raw", 2)
ATTRIBUTES_AT = 21  # base offset 8, length 4, leader epoch 4, magic 1, crc 4
CRC_AT = 17


def batch(base_offset: int, count: int, codec: int = DefaultRecordBatch.CODEC_NONE) -> bytes:
    builder = DefaultRecordBatchBuilder(2, codec, 0, -1, -1, -1, 1 << 20)
    for delta in range(count):
        builder.append(delta, 1_700_000_000_000, None, f"v{base_offset + delta}".encode(), [])
    built = bytearray(builder.build())
    built[:8] = struct.pack(">q", base_offset)  # the broker's job; outside the CRC
    return bytes(built)


def with_unknown_codec(raw: bytes) -> bytes:
    """A batch whose attributes name codec 5, which no Kafka client knows, CRC still valid."""
    changed = bytearray(raw)
    changed[ATTRIBUTES_AT + 1] = (changed[ATTRIBUTES_AT + 1] & ~0x07) | 0x05
    changed[CRC_AT:ATTRIBUTES_AT] = struct.pack(">I", calc_crc32c(bytes(changed[ATTRIBUTES_AT:])))
    return bytes(changed)


def with_corrupt_payload(raw: bytes) -> bytes:
    changed = bytearray(raw)
    changed[-3] ^= 0xFF
    return bytes(changed)


def partition_records(data: bytes, fetch_offset: int = 0) -> PartitionRecords:
    return PartitionRecords(
        TP, MemoryRecords(data), [], fetch_offset, None, None, True, READ_UNCOMMITTED
    )


def read_guarded(data: bytes, fetch_offset: int = 0) -> tuple[list[int], int, list]:
    found: list[UndecodableBatch] = []
    records = partition_records(data, fetch_offset)
    guard_partition_records(TP, records, found.append)
    offsets = [record.offset for record in records]
    return offsets, records.next_fetch_offset, found


GZIP_CORRUPT = with_corrupt_payload(batch(3, 4, DefaultRecordBatch.CODEC_GZIP))


@pytest.mark.parametrize(
    ("poison", "error_type"),
    [
        (with_unknown_codec(batch(3, 4, DefaultRecordBatch.CODEC_GZIP)), UnsupportedCodecError),
        (GZIP_CORRUPT, CorruptRecordException),
    ],
)
def test_records_before_an_undecodable_batch_are_read_and_the_batch_is_skipped(
    poison: bytes, error_type: type[Exception]
) -> None:
    data = batch(0, 3) + poison + batch(7, 2)
    unguarded = partition_records(data)
    with pytest.raises(error_type):
        list(unguarded)  # what the worker used to die of

    offsets, next_fetch, found = read_guarded(data)

    assert offsets == [0, 1, 2]
    assert next_fetch == 7  # the next fetch starts with the batch after the poison
    assert [(b.topic, b.partition, b.first_offset, b.last_offset) for b in found] == [
        ("tweets.raw", 2, 3, 6)
    ]
    assert isinstance(found[0].error, error_type)


def test_a_fetch_that_starts_with_an_undecodable_batch_skips_it_and_nothing_else() -> None:
    offsets, next_fetch, found = read_guarded(GZIP_CORRUPT + batch(7, 2), fetch_offset=3)
    assert (offsets, next_fetch) == ([], 7)
    assert [(b.first_offset, b.last_offset) for b in found] == [(3, 6)]


def test_decodable_batches_of_every_codec_pass_untouched() -> None:
    codecs = [
        DefaultRecordBatch.CODEC_NONE,
        DefaultRecordBatch.CODEC_GZIP,
        DefaultRecordBatch.CODEC_SNAPPY,
        DefaultRecordBatch.CODEC_LZ4,
        DefaultRecordBatch.CODEC_ZSTD,
    ]
    data = b"".join(batch(3 * n, 3, codec) for n, codec in enumerate(codecs))
    offsets, next_fetch, found = read_guarded(data)
    assert offsets == list(range(15))
    assert (next_fetch, found) == (15, [])


def test_fetch_results_are_guarded_as_the_fetcher_stores_them() -> None:
    found: list[UndecodableBatch] = []
    results = GuardedFetchResults(found.append)
    records = partition_records(batch(0, 1) + GZIP_CORRUPT, fetch_offset=0)
    results[TP] = FetchResult(TP, assignment=None, partition_records=records, backoff=0)
    assert [record.offset for record in records] == [0]
    assert [(b.first_offset, b.last_offset) for b in found] == [(3, 6)]
