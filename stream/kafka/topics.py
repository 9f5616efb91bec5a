"""Creates the topics badbuzz reads and writes, so a fresh cluster works out of the box."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import NewTopic

from stream.kafka import KafkaAccessError, KafkaConnection
from stream.kafka.access import (
    admin_client,
    cluster_metadata,
    kafka_error_of,
    raise_connection_failure,
)
from stream.settings import Settings

DENIED = {KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED}


def ensure_topics(
    kafka: KafkaConnection,
    names: Iterable[str],
    partitions: int,
    replication_factor: int = 1,
    timeout: float = 30.0,
    compacted: Iterable[str] = (),
) -> None:
    """Create the missing topics; existing ones are left as they are. A principal without
    Create may still run this once an admin has created the topics."""
    compact = set(compacted)
    failures: list[str] = []
    admin = admin_client(kafka, failures)
    existing = set(cluster_metadata(admin, kafka, failures, timeout).topics)
    missing = [
        NewTopic(
            name,
            num_partitions=partitions,
            replication_factor=replication_factor,
            config={"cleanup.policy": "compact"} if name in compact else {},
        )
        for name in names
        if name not in existing
    ]
    if not missing:
        return
    denied = []
    for name, future in admin.create_topics(missing, operation_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
        except (KafkaException, TimeoutError) as exc:
            code = kafka_error_of(exc).code()
            if code in DENIED:
                denied.append(name)
            elif code != KafkaError.TOPIC_ALREADY_EXISTS:
                raise_connection_failure(failures, kafka, exc)
    if denied:
        raise KafkaAccessError(
            f"{kafka.principal} may not create (or see) topics {', '.join(sorted(denied))}: "
            "create them with an admin principal (`badbuzz topics`) or grant Create"
        )


def ensure_badbuzz_topics(settings: Settings, kafka: KafkaConnection) -> None:
    ensure_topics(
        kafka,
        settings.all_topics,
        settings.topic_partitions,
        settings.topic_replication_factor,
        compacted=[settings.topic_feedback_labelled, settings.topic_alert_state],
    )
    ensure_model_topics(settings, kafka)


def ensure_model_topics(settings: Settings, kafka: KafkaConnection) -> None:
    """One partition each: the control topic is read whole and in order by every worker."""
    models = [settings.topic_models, settings.topic_model_bundles]
    ensure_topics(kafka, models, 1, settings.topic_replication_factor, compacted=models)


def partition_counts(
    kafka: KafkaConnection, names: Iterable[str], timeout: float = 30.0
) -> dict[str, int]:
    """How many partitions each existing topic has, from the cluster's metadata."""
    failures: list[str] = []
    admin = admin_client(kafka, failures)
    topics = cluster_metadata(admin, kafka, failures, timeout).topics
    return {name: len(topics[name].partitions) for name in names if name in topics}
