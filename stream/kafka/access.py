"""Checks, before the worker starts consuming, that the brokers let its principal do what it
needs. A refusal (authentication, TLS, authorisation) becomes one `KafkaAccessError` naming
the cause, instead of clients that retry a bad password or a missing ACL forever; a cluster
that cannot answer yet (a broker starting, a group coordinator loading) is `KafkaNotReady`,
which `until_ready` waits out."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import NoReturn, TypeVar

import structlog
from confluent_kafka import KafkaError, KafkaException, TopicCollection
from confluent_kafka.admin import AclOperation, AdminClient, ClusterMetadata

from stream.kafka.connection import KafkaAccessError, KafkaConnection, KafkaNotReady

log = structlog.get_logger(__name__)

READ = AclOperation.READ
WRITE = AclOperation.WRITE
T = TypeVar("T")

# The brokers answered and said no: retrying with the same credentials, CA or ACLs cannot help.
NOT_AUTHENTICATED = frozenset(
    {
        KafkaError._AUTHENTICATION,
        KafkaError.SASL_AUTHENTICATION_FAILED,
        KafkaError.UNSUPPORTED_SASL_MECHANISM,
        KafkaError.ILLEGAL_SASL_STATE,
    }
)
REFUSED = NOT_AUTHENTICATED | frozenset(
    {
        KafkaError._SSL,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.GROUP_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        KafkaError.DELEGATION_TOKEN_AUTHORIZATION_FAILED,
    }
)
# A cluster warming up or moving leaders. Kafka's protocol calls these retriable, but the
# errors confluent-kafka hands back from admin requests do not always carry the flag.
WARMING_UP = frozenset(
    {
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.NOT_CONTROLLER,
        KafkaError.BROKER_NOT_AVAILABLE,
        KafkaError.REPLICA_NOT_AVAILABLE,
        KafkaError.NOT_ENOUGH_REPLICAS,
        KafkaError.KAFKA_STORAGE_ERROR,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError.NETWORK_EXCEPTION,
        KafkaError.REBALANCE_IN_PROGRESS,
        KafkaError.THROTTLING_QUOTA_EXCEEDED,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._RESOLVE,
        KafkaError._TIMED_OUT,
        KafkaError._WAIT_COORD,
    }
)


def is_refusal(error: KafkaError) -> bool:
    """Authentication, TLS or authorisation failed (librdkafka sometimes says so only in
    the text of a transport error)."""
    text = error.str()
    return (
        error.code() in REFUSED or "SASL authentication" in text or "SSL handshake failed" in text
    )


def is_retriable(error: KafkaError) -> bool:
    return not is_refusal(error) and (error.retriable() or error.code() in WARMING_UP)


def connection_failure(error: KafkaError, kafka: KafkaConnection) -> str | None:
    """The cause of a client-level error when retrying cannot fix it, else None."""
    text = error.str()
    if error.code() == KafkaError._SSL or "SSL handshake failed" in text:
        return (
            "TLS handshake failed: the broker's certificate is not trusted by "
            f"BADBUZZ_KAFKA_SSL_CA_FILE ({kafka.ssl_ca_file}) or does not match its host name, "
            f"or the broker refused ours: {text}"
        )
    if error.code() in NOT_AUTHENTICATED or "SASL authentication" in text:
        return (
            f"SASL authentication failed for {kafka.principal} "
            f"({kafka.sasl_mechanism}): wrong user name or password? broker said: {text}"
        )
    return None


def admin_client(kafka: KafkaConnection, failures: list[str]) -> AdminClient:
    """An admin client whose fatal connection errors land in `failures`, not on stderr."""

    def on_error(error: KafkaError) -> None:
        cause = connection_failure(error, kafka)
        if cause is not None and cause not in failures:
            failures.append(cause)

    return AdminClient(kafka.librdkafka({"error_cb": on_error, "log_level": 0}))


def kafka_error_of(exc: BaseException) -> KafkaError:
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0]
    if isinstance(exc, TimeoutError):
        return KafkaError(KafkaError._TIMED_OUT, "no answer in time", retriable=True)
    return KafkaError(KafkaError._FAIL, str(exc))


def raise_connection_failure(
    failures: list[str], kafka: KafkaConnection, exc: BaseException
) -> NoReturn:
    """`KafkaAccessError` for a refusal, else `KafkaNotReady`: try again later."""
    if failures:
        raise KafkaAccessError(failures[0]) from exc
    error = kafka_error_of(exc)
    if is_refusal(error):
        raise KafkaAccessError(
            f"Kafka at {kafka.bootstrap_servers} refused {kafka.principal}: {error.str()}"
        ) from exc
    raise KafkaNotReady(
        error,
        f"Kafka at {kafka.bootstrap_servers} over {kafka.security_protocol} cannot answer yet: "
        f"{error.str()}",
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
            raise KafkaNotReady(kafka_error_of(exc), f"topic {name} is not known yet") from exc
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
        except (KafkaException, TimeoutError) as exc:
            if kafka_error_of(exc).code() != KafkaError.GROUP_AUTHORIZATION_FAILED:
                raise_connection_failure(failures, kafka, exc)
            group_ops = set()
        if READ not in group_ops and AclOperation.ALL not in group_ops:
            missing.append(f"READ on group {group}")
    if missing:
        raise KafkaAccessError(
            f"{kafka.principal} is not allowed: {', '.join(missing)} (missing ACLs; see README "
            "'Running against a secured cluster')"
        )


def until_ready(
    attempt: Callable[[], T],
    timeout_s: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    first_delay_s: float = 0.5,
    max_delay_s: float = 5.0,
) -> T:
    """`attempt()`, again after a growing pause while it raises `KafkaNotReady`, for at most
    `timeout_s` (then the last `KafkaNotReady` is raised). A `KafkaAccessError` is raised at
    once: the cluster answered, and said no."""
    deadline = clock() + timeout_s
    delay = first_delay_s
    tries = 0
    while True:
        tries += 1
        try:
            return attempt()
        except KafkaNotReady as exc:
            left = deadline - clock()
            if left <= 0:
                raise
            pause = min(delay, left)
            log.warning(
                "kafka_not_ready",
                error=exc.error.name(),
                retriable=is_retriable(exc.error),
                detail=str(exc),
                attempt=tries,
                retry_in_s=round(pause, 2),
            )
            sleep(pause)
            delay = min(delay * 2, max_delay_s)
