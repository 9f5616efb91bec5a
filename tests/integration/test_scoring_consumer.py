"""The librdkafka scoring consumer on its own, on a real broker: a handler that raises is the
consumer's own failure (inputs are dead-lettered before they reach it), reported once."""

from __future__ import annotations

import threading

import pytest

from stream.kafka import KafkaConnection
from stream.kafka.scoring_consumer import HandledBatch, ScoringConsumer
from stream.records import RawRecord, UndecodableBatch
from tests.support import produce, tweet_payload

pytestmark = pytest.mark.integration


def test_a_failure_inside_the_consumer_thread_is_reported_not_swallowed(
    unique_env: dict[str, str],
) -> None:
    bootstrap, topic = unique_env["KAFKA_BOOTSTRAP_SERVERS"], unique_env["BADBUZZ_TOPIC_RAW"]
    produce(bootstrap, topic, [tweet_payload("t-1", "hello")])
    failures: list[BaseException] = []
    reported = threading.Event()

    async def broken(records: list[RawRecord], undecodable: list[UndecodableBatch]) -> HandledBatch:
        raise RuntimeError("a bug in the handler")

    def on_failure(error: BaseException) -> None:
        failures.append(error)
        reported.set()

    consumer = ScoringConsumer(
        KafkaConnection(bootstrap).librdkafka(),
        topic=topic,
        group_id=f"{unique_env['BADBUZZ_APP_ID']}-scoring",
        handle=broken,
        batch_size=16,
        batch_wait_s=0.05,
        max_batches_in_flight=2,
        commit_interval_s=1.0,
        session_timeout_s=6.0,
        guarantee="at_least_once",
        transactional_id="unused",
        on_failure=on_failure,
    )
    consumer.start()
    assert reported.wait(60), "the failure was never reported"
    consumer.stop()
    assert [str(error) for error in failures] == ["a bug in the handler"]
    assert not consumer.alive
