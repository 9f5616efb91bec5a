"""A produce error for one message: which ones are for good, and what is sent instead; and a
producer whose broker is gone closes without hanging a worker's shutdown or restart."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from confluent_kafka import KafkaError, Producer

from model import SentimentModel
from stream.agents.handling import Handling
from stream.kafka.local import free_port
from stream.kafka.producer import OutputRejected, close_producer, is_rejected, try_produce
from stream.pipeline.signals import signal_partition
from stream.pipeline.steps import Pipeline
from stream.records import Outgoing, RawRecord
from stream.settings import Settings
from stream.web import StatusBoard

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ANGRY = "worst airline ever, lost my bags, rude staff, never again 😡 déçu "


@pytest.mark.parametrize(
    "code", [KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.INVALID_RECORD, KafkaError.INVALID_MSG]
)
def test_a_message_kafka_refuses_as_it_is_is_rejected(code: int) -> None:
    assert is_rejected(KafkaError(code))


@pytest.mark.parametrize(
    "code",
    [KafkaError._MSG_TIMED_OUT, KafkaError._TRANSPORT, KafkaError.NOT_LEADER_FOR_PARTITION],
)
def test_a_failure_of_the_moment_is_retried(code: int) -> None:
    assert not is_rejected(KafkaError(code))


def test_a_message_too_large_for_the_client_is_reported_not_raised() -> None:
    producer = Producer({"bootstrap.servers": "127.0.0.1:1", "log_level": 0})
    huge = Outgoing("signals", b"brand", b"x" * 2_000_000)
    reports: list[KafkaError | None] = []
    assert try_produce(producer, huge, lambda error, _: reports.append(error))
    assert [error.code() for error in reports if error is not None] == [
        KafkaError.MSG_SIZE_TOO_LARGE
    ]
    with pytest.raises(OutputRejected, match="MSG_SIZE_TOO_LARGE"):
        try_produce(producer, huge)
    producer.purge()


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline.from_settings(Settings(label_shift=False), SentimentModel.load(), lambda: NOW)


def raw(offset: int, text: str, brand: str = "hostair") -> RawRecord:
    value = json.dumps({"id": f"t-{offset}", "text": text, "brand": brand}, ensure_ascii=False)
    return RawRecord("tweets.raw", 0, offset, None, value.encode())


def test_outputs_name_the_inputs_they_were_made_from(pipeline: Pipeline) -> None:
    records = [raw(0, ANGRY), raw(1, ANGRY), raw(2, "fine flight", brand="other")]
    messages = pipeline.score(records).messages
    events = [m for m in messages if m.topic == "tweets.sentiment"]
    assert [m.inputs for m in events] == [(r,) for r in records]
    signals = {m.partition: m.inputs for m in messages if m.topic == "badbuzz-signals"}
    partitions = pipeline.topology.signal_partitions
    expected: dict[int | None, tuple[RawRecord, ...]] = dict.fromkeys(range(partitions), ())
    for record, scope in zip(records, ("hostair", "hostair", "other"), strict=True):
        partition = signal_partition(scope, partitions)
        expected[partition] = (*expected[partition], record)
    assert signals == expected


def test_an_event_of_the_largest_tweet_stays_about_its_size(pipeline: Pipeline) -> None:
    """Sentiment events carry the text as UTF-8, unescaped: a payload at the limit, however
    non-ASCII, makes an event of about the same size, far below Kafka's 1 MB."""
    limit = pipeline.settings.max_payload_bytes
    text = (ANGRY * 1_000)[: limit // 4]
    while len(raw(0, text).value or b"") > limit:
        text = text[:-1]
    [event] = [m for m in pipeline.score([raw(0, text)]).messages if m.topic == "tweets.sentiment"]
    assert len(event.value) < limit + 1_024


class NoOutputs:
    """Handling only hands rejected outputs' letters back; nothing is delivered here."""


def test_a_rejected_output_becomes_its_inputs_dead_letters(pipeline: Pipeline) -> None:
    handling = Handling(pipeline, NoOutputs(), StatusBoard())  # type: ignore[arg-type]
    records = (raw(5, ANGRY), raw(6, ANGRY))
    signal = Outgoing("badbuzz-signals", b"hostair", b"x" * 2_000_000, inputs=records)
    letters = handling.rejected_output_letters(signal, KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
    documents = [json.loads(m.value) for m in letters]
    assert {m.topic for m in letters} == {"tweets.deadletter"}
    assert [(d["partition"], d["offset"], d["reason"]) for d in documents] == [
        (0, 5, "output_too_large"),
        (0, 6, "output_too_large"),
    ]
    assert "MSG_SIZE_TOO_LARGE" in documents[0]["detail"]
    invalid = handling.rejected_output_letters(
        Outgoing("tweets.sentiment", b"t-5", b"{}", inputs=records[:1]),
        KafkaError(KafkaError.INVALID_RECORD),
    )
    assert [json.loads(m.value)["reason"] for m in invalid] == ["produce_failed"]
    assert handling.rejected_output_letters(letters[0], KafkaError(10)) == []


def test_an_output_past_the_workers_limit_is_never_sent(pipeline: Pipeline) -> None:
    # a dead letter keeps 1 KB of its payload: under the limit too
    settings = Settings(label_shift=False, max_output_bytes=4_096, deadletter_payload_bytes=1_024)
    bounded = Pipeline(settings, pipeline.scorer, lambda: NOW)
    handling = Handling(bounded, NoOutputs(), StatusBoard())  # type: ignore[arg-type]
    records = [raw(0, ANGRY * 60), raw(1, "fine flight"), raw(2, ANGRY * 60)]  # ~4 KB events
    messages = handling.within_limit(bounded.score(records).messages)
    assert all(len(m.value) <= 4_096 for m in messages)
    letters = [json.loads(m.value) for m in messages if m.topic == "tweets.deadletter"]
    assert [(d["offset"], d["reason"]) for d in letters] == [
        (0, "output_too_large"),
        (2, "output_too_large"),
    ]
    events = [json.loads(m.value) for m in messages if m.topic == "tweets.sentiment"]
    assert [e["tweet_id"] for e in events] == ["t-1"]
    # the signals stay under the limit: split, their examples cut
    assert any(m.topic == "badbuzz-signals" for m in messages)


def test_a_producer_with_an_unreachable_broker_closes_within_its_timeout() -> None:
    producer = Producer({"bootstrap.servers": f"127.0.0.1:{free_port()}", "log_level": 0})
    producer.produce("tweets.sentiment", b"never delivered")
    started = time.monotonic()
    close_producer(producer, timeout_s=0.5)
    # Producer.close() alone waits for message.timeout.ms (300 s by default) here
    assert time.monotonic() - started < 5
    assert len(producer) == 0
