"""The worker against a secured broker: SASL_SSL with SCRAM-SHA-512 as the only client
listener, a CA made for this module, the StandardAuthorizer with nothing allowed by default,
and the worker's principal granted exactly the ACLs the README lists."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from stream.kafka.local import LocalKafka, free_port
from stream.kafka.local.launcher import BrokerSecurity
from stream.kafka.local.tls import make_broker_tls, make_ca
from stream.kafka.topics import ensure_badbuzz_topics
from stream.settings import Settings
from stream.worker import EXIT_KAFKA_REFUSED, required_access
from tests.support import Collector, WorkerProcess, produce, topic_env, tweet_payload

pytestmark = pytest.mark.integration

WORKER = "badbuzz-worker"
WORKER_PASSWORD = "Known-Worker-Secret-7f3a9c"


@pytest.fixture(scope="module")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """One secured broker for the module; users are created when its storage is formatted."""
    workdir = tmp_path_factory.mktemp("secure-kafka")
    tls = make_broker_tls(workdir / "tls", password=uuid.uuid4().hex)
    security = BrokerSecurity(tls, admin_password=uuid.uuid4().hex, users={WORKER: WORKER_PASSWORD})
    kafka = LocalKafka(workdir / "broker", port=free_port(), security=security)
    kafka.start()
    yield kafka
    kafka.stop()


def worker_acls(settings: Settings, principal: str) -> list[AclBinding]:
    """The README's list: per topic the operations `required_access` names, Read on the
    two consumer groups (Faust's and the scoring consumer's), Read on the state and model
    readers' throwaway groups (prefixes); nothing else."""

    def allow(
        kind: ResourceType, name: str, op: AclOperation, pattern: ResourcePatternType
    ) -> AclBinding:
        return AclBinding(kind, name, pattern, principal, "*", op, AclPermissionType.ALLOW)

    literal, prefixed = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED
    acls = [
        allow(ResourceType.TOPIC, topic, op, literal)
        for topic, ops in required_access(settings).items()
        for op in ops
    ]
    acls.append(allow(ResourceType.GROUP, settings.app_id, AclOperation.READ, literal))
    acls.append(allow(ResourceType.GROUP, settings.scoring_group_id, AclOperation.READ, literal))
    for topic in (settings.topic_alert_state, settings.topic_models, settings.topic_model_bundles):
        acls.append(allow(ResourceType.GROUP, f"{topic}-reader-", AclOperation.READ, prefixed))
    return acls


def secured_env(
    kafka: LocalKafka, ca_file: Path, password: str = WORKER_PASSWORD
) -> dict[str, str]:
    env = topic_env(kafka.bootstrap_servers, suffix=uuid.uuid4().hex[:8])
    return {
        **env,
        "BADBUZZ_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "BADBUZZ_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "BADBUZZ_KAFKA_SASL_USERNAME": WORKER,
        "BADBUZZ_KAFKA_SASL_PASSWORD": password,
        "BADBUZZ_KAFKA_SSL_CA_FILE": str(ca_file),
    }


def prepare(kafka: LocalKafka, env: dict[str, str], grant_group: bool = True) -> Settings:
    """An admin creates the topics (the worker may not) and grants the worker its ACLs."""
    names = {key: value for key, value in env.items() if key.startswith("BADBUZZ_TOPIC_")}
    names["BADBUZZ_APP_ID"] = env["BADBUZZ_APP_ID"]
    settings = Settings(
        **{key.removeprefix("BADBUZZ_").lower(): value for key, value in names.items()}
    )
    ensure_badbuzz_topics(settings, kafka.connection)
    acls = worker_acls(settings, f"User:{WORKER}")
    if not grant_group:
        acls = [acl for acl in acls if acl.name != settings.app_id]
    admin = AdminClient(kafka.connection.librdkafka())
    for future in admin.create_acls(acls).values():
        future.result(30)
    return settings


def refusal(worker: WorkerProcess, timeout_s: float = 60.0) -> tuple[int, list[str], str]:
    """The worker's exit code, its `kafka_refused` lines and its whole log, once it exited."""
    assert worker.process is not None
    code = worker.process.wait(timeout_s)
    log = (worker.workdir / "worker.log").read_text(errors="replace")
    return code, [line for line in log.splitlines() if '"kafka_refused"' in line], log


def test_the_worker_runs_end_to_end_on_sasl_ssl_with_only_its_acls(
    secure_kafka: LocalKafka, start_worker: Callable[..., WorkerProcess]
) -> None:
    assert secure_kafka.security is not None
    env = {
        **secured_env(secure_kafka, secure_kafka.security.tls.ca_file),
        "BADBUZZ_ALERT_COLD_START_NEGATIVES": "15",  # a first-seen brand: 20 angry tweets alert
    }
    prepare(secure_kafka, env)
    admin = secure_kafka.connection
    now = datetime.now(UTC).isoformat()
    angry = [
        tweet_payload(
            f"angry-{n}",
            "worst airline ever, lost my bags, rude staff, never again",
            brand="airparadis",
            created_at=now,
        )
        for n in range(20)
    ]
    produce(admin, env["BADBUZZ_TOPIC_RAW"], [*angry, (b"bad", b'{"id": "x", "text": "unterm')])
    worker = start_worker(env)
    events = Collector(admin, env["BADBUZZ_TOPIC_SENTIMENT"])
    letters = Collector(admin, env["BADBUZZ_TOPIC_DEADLETTER"])
    alerts = Collector(admin, env["BADBUZZ_TOPIC_ALERTS"])
    got = events.poll_until(lambda m: len(m) >= 20, timeout=90, alive=lambda: worker.alive)
    assert len(got) == 20, worker.log_tail()
    assert {m["reason"] for m in letters.poll_until(bool, 30)} == {"malformed_json"}
    raised = alerts.poll_until(bool, 60, alive=lambda: worker.alive)
    assert [(a["kind"], a["status"], a["scope"]) for a in raised] == [
        ("negative_sentiment", "raised", "airparadis")
    ], worker.log_tail()
    metrics = worker.get("/metrics")[1]
    assert "badbuzz_tweets_consumed_total 21.0" in metrics
    worker.stop()
    written = [
        (worker.workdir / "worker.log").read_text(errors="replace"),
        metrics,
        *(json.dumps(m) for m in letters.messages + raised + got),
    ]
    assert not [text for text in written if WORKER_PASSWORD in text]
    for collector in (events, letters, alerts):
        collector.close()


def test_a_wrong_password_is_one_clear_line_and_an_exit(
    secure_kafka: LocalKafka, start_worker: Callable[..., WorkerProcess]
) -> None:
    assert secure_kafka.security is not None
    wrong = "Wrong-Password-1b2c3d"
    env = secured_env(secure_kafka, secure_kafka.security.tls.ca_file, password=wrong)
    prepare(secure_kafka, env)
    started = time.monotonic()
    code, lines, log = refusal(start_worker(env))
    assert code == EXIT_KAFKA_REFUSED
    assert len(lines) == 1 and "SASL authentication failed for User:badbuzz-worker" in lines[0]
    assert time.monotonic() - started < 45
    assert wrong not in log


def test_an_untrusted_broker_certificate_is_one_clear_line_and_an_exit(
    secure_kafka: LocalKafka, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    stranger_ca = make_ca(tmp_path / "other-ca", password=uuid.uuid4().hex, name="stranger-ca")
    env = secured_env(secure_kafka, stranger_ca)
    code, lines, _ = refusal(start_worker(env))
    assert code == EXIT_KAFKA_REFUSED
    assert len(lines) == 1 and "TLS handshake failed" in lines[0]
    assert re.search(r"certificate verify failed", lines[0])


def test_a_missing_acl_is_named_in_one_line_and_an_exit(
    secure_kafka: LocalKafka, start_worker: Callable[..., WorkerProcess]
) -> None:
    assert secure_kafka.security is not None
    env = secured_env(secure_kafka, secure_kafka.security.tls.ca_file)
    prepare(secure_kafka, env, grant_group=False)
    code, lines, _ = refusal(start_worker(env))
    assert code == EXIT_KAFKA_REFUSED
    assert len(lines) == 1
    assert f"User:{WORKER} is not allowed: READ on group {env['BADBUZZ_APP_ID']}" in lines[0]
