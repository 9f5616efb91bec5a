"""Provides the test session's Kafka broker, like quix-streams' tests/containerhelper.py.

In order: the broker the shell named in KAFKA_BOOTSTRAP_SERVERS (read by tests/conftest.py
before it clears the environment); testcontainers' Kafka where a Docker
engine answers; else a local KRaft broker from the official jars on a free port. Tests must
fail, never skip, when none of these can start.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from stream.kafka.local import LocalKafka, free_port

Teardown = Callable[[], None]
DOCKER_IMAGE = "confluentinc/cp-kafka:7.9.0"


def _docker_kafka() -> tuple[str, Teardown] | None:
    """testcontainers' Kafka, or None when no Docker engine answers."""
    try:
        import docker
        from testcontainers.kafka import KafkaContainer
    except ImportError:
        return None
    try:
        docker.from_env().ping()
    except Exception:
        return None
    container = KafkaContainer(DOCKER_IMAGE).with_kraft()
    container.start()
    return container.get_bootstrap_server(), container.stop


def provide_broker(tmp_dir: Path, external: str | None) -> tuple[str, Teardown]:
    """Bootstrap servers and how to stop the broker; for a LocalKafka that is its `stop`."""
    if external:
        return external, lambda: None
    docker_broker = _docker_kafka()
    if docker_broker is not None:
        return docker_broker
    kafka = LocalKafka(tmp_dir, port=free_port())
    try:
        return kafka.start(), kafka.stop
    except Exception as exc:
        kafka.stop()
        raise RuntimeError(
            "no Kafka broker: KAFKA_BOOTSTRAP_SERVERS is unset, no Docker engine answers, and "
            f"the local jar broker failed to start: {exc}"
        ) from exc


def local_kafka_of(teardown: Teardown) -> LocalKafka | None:
    """The LocalKafka behind a `provide_broker` teardown, if the broker is one we run."""
    owner = getattr(teardown, "__self__", None)
    return owner if isinstance(owner, LocalKafka) else None
