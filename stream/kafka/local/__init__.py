"""A local single-node Apache Kafka (KRaft) from the official jars, fetched by Maven."""

from stream.kafka.local.launcher import (
    KAFKA_VERSION,
    LocalKafka,
    console_produce,
    down,
    fetch_jars,
    free_port,
    up,
)

__all__ = [
    "KAFKA_VERSION",
    "LocalKafka",
    "console_produce",
    "down",
    "fetch_jars",
    "free_port",
    "up",
]
