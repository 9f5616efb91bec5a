"""Checks, before the worker starts consuming, that the brokers let its principal do what it
needs; a refusal becomes one `KafkaAccessError` naming the cause, instead of clients that
retry a bad password or a missing ACL forever."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import NoReturn

from confluent_kafka import KafkaError, KafkaException, TopicCollection
from confluent_kafka.admin import AclOperation, AdminClient, ClusterMetadata

from stream.kafka.connection import KafkaAccessError, KafkaConnection

READ = AclOperation.READ
WRITE = AclOperation.WRITE


def connection_failure(error: KafkaError, kafka: KafkaConnection) -> str | None:
    """The cause of a client-level error when retrying cannot fix it, else None."""
    text = error.str()
    if error.code() == KafkaError._AUTHENTICATION or "SASL authentication" in text:
        return (
            f"SASL authentication failed for {kafka.principal} "
            f"({kafka.sasl_mechanism}): wrong user name or password? broker said: {text}"
        )
    if error.code() == KafkaError._SSL or "SSL handshake failed" in text:
        return (
            "TLS handshake failed: the broker's certificate is not trusted by "
            f"BADBUZZ_KAFKA_SSL_CA_FILE ({kafka.ssl_ca_file}) or does not match its host name, "
            f"or the broker refused ours: {text}"
        )
    return None


def admin_client(kafka: KafkaConnection, failures: list[str]) -> AdminClient:
    """An admin client whose fatal connection errors land in `failures`, not on stderr."""

    def on_error(error: KafkaError) -> None:
        cause = connection_failure(error, kafka)
        if cause is not None and cause not in failures:
            failures.append(cause)

    return AdminClient(kafka.librdkafka({"error_cb": on_error, "log_level": 0}))


def raise_connection_failure(
    failures: list[str], kafka: KafkaConnection, exc: Exception
) -> NoReturn:
    if failures:
        raise KafkaAccessError(failures[0]) from exc
    raise KafkaAccessError(
        f"cannot reach Kafka at {kafka.bootstrap_servers} over {kafka.security_protocol}: {exc}"
    ) from exc


def cluster_metadata(
    admin: AdminClient, kafka: KafkaConnection, failures: list[str], timeout_s: float
) -> ClusterMetadata:
    """The cluster's metadata, or `KafkaAccessError` as soon as the connection is refused
    (librdkafka would otherwise keep retrying a bad password until the timeout)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return admin.list_topics(timeout=1.0)
        except KafkaException as exc:
            admin.poll(0)  # serves the error callback, which holds the cause
            if failures or time.monotonic() > deadline:
                raise_connection_failure(failures, kafka, exc)


def topic_operations(
    admin: AdminClient,
    names: list[str],
    failures: list[str],
    kafka: KafkaConnection,
    timeout_s: float,
    settle_s: float = 10.0,
) -> list[tuple[str, set[AclOperation]]]:
    """What the principal may do on each topic. A topic created a moment ago may be unknown
    to the broker answering for a few seconds; only one still unknown after `settle_s` is
    missing."""
    deadline = time.monotonic() + settle_s
    while True:
        described = admin.describe_topics(
            TopicCollection(names), request_timeout=timeout_s, include_authorized_operations=True
        )
        found: list[tuple[str, set[AclOperation]]] = []
        unknown: list[tuple[str, KafkaException]] = []
        for name, future in described.items():
            try:
                found.append((name, set(future.result().authorized_operations or ())))
            except KafkaException as exc:
                error = exc.args[0]
                if error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
                    found.append((name, set()))
                elif error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                    unknown.append((name, exc))
                else:
                    raise_connection_failure(failures, kafka, exc)
        if not unknown:
            return found
        if time.monotonic() > deadline:
            name, exc = unknown[0]
            raise KafkaAccessError(f"topic {name} does not exist") from exc
        time.sleep(0.5)


def check_access(
    kafka: KafkaConnection,
    topics: Mapping[str, frozenset[AclOperation]],
    groups: Sequence[str],
    timeout_s: float = 20.0,
) -> None:
    """Raise `KafkaAccessError` listing every operation the principal lacks on `topics` and
    on its consumer `groups` (Read); the brokers report what they allow us (KIP-430)."""
    failures: list[str] = []
    admin = admin_client(kafka, failures)
    missing: list[str] = []
    for name, allowed in topic_operations(admin, list(topics), failures, kafka, timeout_s):
        lacking = (
            [] if AclOperation.ALL in allowed else sorted(op.name for op in topics[name] - allowed)
        )
        if lacking:
            missing.append(f"{'+'.join(lacking)} on topic {name}")
    described_groups = admin.describe_consumer_groups(
        list(groups), request_timeout=timeout_s, include_authorized_operations=True
    )
    for group, future in described_groups.items():
        try:
            group_ops = set(future.result(timeout_s).authorized_operations or ())
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.GROUP_AUTHORIZATION_FAILED:
                raise_connection_failure(failures, kafka, exc)
            group_ops = set()
        if READ not in group_ops and AclOperation.ALL not in group_ops:
            missing.append(f"READ on group {group}")
    if missing:
        raise KafkaAccessError(
            f"{kafka.principal} is not allowed: {', '.join(missing)} (missing ACLs; see README "
            "'Running against a secured cluster')"
        )
