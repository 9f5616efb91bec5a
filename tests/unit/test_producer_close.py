"""Closing a producer whose broker is gone must not hang a worker's shutdown or restart."""

import time

from confluent_kafka import Producer

from stream.kafka.local import free_port
from stream.kafka.producer import close_producer


def test_a_producer_with_an_unreachable_broker_closes_within_its_timeout() -> None:
    producer = Producer({"bootstrap.servers": f"127.0.0.1:{free_port()}", "log_level": 0})
    producer.produce("tweets.sentiment", b"never delivered")
    started = time.monotonic()
    close_producer(producer, timeout_s=0.5)
    # Producer.close() alone waits for message.timeout.ms (300 s by default) here
    assert time.monotonic() - started < 5
    assert len(producer) == 0
