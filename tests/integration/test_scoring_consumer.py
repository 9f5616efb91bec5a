"""The librdkafka scoring consumer on its own, on a real broker: a handler that raises is the
consumer's own failure (inputs are dead-lettered before they reach it), reported once."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import Producer

from stream.kafka import KafkaConnection
from stream.kafka.scoring import (
    BatchHandler,
    BatchWork,
    HandledBatch,
    ScoringConfig,
    ScoringConsumer,
)
from stream.records import RawRecord, UndecodableBatch
from stream.settings import Settings
from tests.support import produce, tweet_payload, wait_for

pytestmark = pytest.mark.integration


def test_a_failure_inside_the_consumer_thread_is_reported_not_swallowed(
    unique_env: dict[str, str],
) -> None:
    bootstrap, topic = unique_env["KAFKA_BOOTSTRAP_SERVERS"], unique_env["BADBUZZ_TOPIC_RAW"]
    produce(bootstrap, topic, [tweet_payload("t-1", "hello")])
    failures: list[BaseException] = []
    reported = threading.Event()

    def broken(records: list[RawRecord], undecodable: list[UndecodableBatch]) -> BatchWork:
        def work() -> HandledBatch:
            raise RuntimeError("a bug in the handler")

        return work

    def on_failure(error: BaseException) -> None:
        failures.append(error)
        reported.set()

    settings = Settings(
        topic_raw=topic,
        app_id=unique_env["BADBUZZ_APP_ID"],
        batch_size=16,
        batch_max_wait_ms=50,
        session_timeout_s=6.0,
    )
    consumer = ScoringConsumer(
        ScoringConfig.from_settings(settings, KafkaConnection(bootstrap)),
        broken,
        on_failure=on_failure,
    )
    consumer.start()
    assert reported.wait(60), "the failure was never reported"
    consumer.stop()
    assert [str(error) for error in failures] == ["a bug in the handler"]
    assert not consumer.alive


def test_a_partition_revoked_while_its_batch_fills_is_handled_by_its_new_owner_only(
    unique_env: dict[str, str],
) -> None:
    """A worker joins while the first one fills a batch (its previous batch still being
    handled): the messages of the partitions it takes that were already read go to the new
    owner, from the committed offset, not to both."""
    bootstrap, topic = unique_env["KAFKA_BOOTSTRAP_SERVERS"], unique_env["BADBUZZ_TOPIC_RAW"]
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})

    def send(count: int) -> None:
        for n in range(count):
            producer.produce(topic, b"{}", partition=n % 3)
        assert producer.flush(30) == 0

    handled: dict[str, list[tuple[int, int]]] = {"first": [], "second": []}
    failures: list[BaseException] = []

    def handler(name: str) -> BatchHandler:
        def handle(records: list[RawRecord], undecodable: list[UndecodableBatch]) -> BatchWork:
            slow = not handled[name]  # the first batch: still handled when the second joins
            handled[name] += [(record.partition, record.offset) for record in records]

            def work() -> HandledBatch:
                time.sleep(6 if slow else 0)
                return HandledBatch([])

            return work

        return handle

    def scoring(name: str, batch_wait_ms: int) -> ScoringConsumer:
        settings = Settings(
            topic_raw=topic,
            app_id=unique_env["BADBUZZ_APP_ID"],
            batch_size=9,
            batch_max_wait_ms=batch_wait_ms,
            session_timeout_s=6.0,
        )
        config = ScoringConfig.from_settings(settings, KafkaConnection(bootstrap))
        return ScoringConsumer(config, handler(name), on_failure=failures.append)

    send(9)
    first = scoring("first", batch_wait_ms=14_000)
    first.start()
    wait_for(lambda: len(handled["first"]) == 9, 30, [], what="the first batch")
    send(6)  # the next batch, filling for 14 s
    time.sleep(1)
    second = scoring("second", batch_wait_ms=50)
    second.start()
    wait_for(lambda: second.assigned, 30, [], what="the second consumer's partitions")
    wait_for(lambda: len(set(handled["first"]) | set(handled["second"])) == 15, 30, [])
    time.sleep(1)  # what a duplicate would take to show
    first.stop()
    second.stop()
    assert not failures
    assert handled["second"], "the second consumer handled nothing"
    both = set(handled["first"]) & set(handled["second"])
    assert not both, f"handled by both consumers: {sorted(both)}"
