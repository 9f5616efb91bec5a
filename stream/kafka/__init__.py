"""Everything that talks to Kafka starts here: `KafkaConnection` builds every client's config."""

from stream.kafka.connection import KafkaAccessError, KafkaConnection, KafkaNotReady

__all__ = ["KafkaAccessError", "KafkaConnection", "KafkaNotReady"]
