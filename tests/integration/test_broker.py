"""The session broker is real Kafka: partitioned topics, consumer groups, data across restarts."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from stream.kafka import KafkaConnection
from stream.kafka.local import LocalKafka, free_port

pytestmark = pytest.mark.integration


def send_one(bootstrap: str, topic: str, value: bytes) -> None:
    producer = Producer(KafkaConnection(bootstrap).librdkafka())
    producer.produce(topic, value=value)
    assert producer.flush(30) == 0


def consume_one(bootstrap: str, topic: str, timeout: float = 30.0) -> bytes | None:
    """First message a fresh consumer group reads, so group coordination is exercised too."""
    consumer = Consumer(
        KafkaConnection(bootstrap).librdkafka(
            {"group.id": f"g-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest"}
        )
    )
    consumer.subscribe([topic])
    try:
        message = consumer.poll(timeout)
        return None if message is None or message.error() else message.value()
    finally:
        consumer.close()


def test_a_topic_has_three_partitions(kafka_bootstrap: str) -> None:
    topic = f"t-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(KafkaConnection(kafka_bootstrap).librdkafka())
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(30)
    assert len(admin.list_topics(topic, timeout=10).topics[topic].partitions) == 3


def test_a_consumer_group_reads_back_what_was_produced(kafka_bootstrap: str) -> None:
    topic = f"t-{uuid.uuid4().hex[:8]}"
    send_one(kafka_bootstrap, topic, b"hello")
    assert consume_one(kafka_bootstrap, topic) == b"hello"


def test_a_restarted_broker_keeps_its_data(tmp_path: Path) -> None:
    with LocalKafka(tmp_path / "kafka", port=free_port()) as kafka:
        send_one(kafka.bootstrap_servers, "durable", b"kept")
        kafka.stop()
        kafka.start()
        assert consume_one(kafka.bootstrap_servers, "durable") == b"kept"


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(RuntimeError, match="already in use"):
            LocalKafka(tmp_path / "other", port=taken.getsockname()[1]).start()
