"""The librdkafka scoring consumer on its own, on a real broker: a handler that raises is the
consumer's own failure (inputs are dead-lettered before they reach it), reported once."""

from __future__ import annotations

import threading

import pytest

from stream.kafka import KafkaConnection
from stream.kafka.scoring import BatchWork, HandledBatch, ScoringConfig, ScoringConsumer
from stream.records import RawRecord, UndecodableBatch
from stream.settings import Settings
from tests.support import produce, tweet_payload

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
