"""A worker started together with its broker (as docker-compose, Kubernetes or systemd start
them) waits out the broker's warm-up instead of taking it for a refusal: a fresh broker has
no `__consumer_offsets` yet, so its group coordinators answer NOT_COORDINATOR or
COORDINATOR_NOT_AVAILABLE until the topic is created and loaded."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from stream.kafka.local import LocalKafka, free_port
from stream.kafka.local.launcher import ADMIN_USER, BrokerSecurity, port_in_use
from stream.kafka.local.tls import make_broker_tls
from tests.support import Collector, WorkerProcess, produce, topic_env, tweet_payload

pytestmark = pytest.mark.integration


def fresh_broker(workdir: Path, secured: bool) -> LocalKafka:
    security = None
    if secured:
        tls = make_broker_tls(workdir / "tls", password=uuid.uuid4().hex)
        security = BrokerSecurity(tls, admin_password=uuid.uuid4().hex)
    return LocalKafka(workdir / "broker", port=free_port(), security=security)


def worker_env(kafka: LocalKafka) -> dict[str, str]:
    """On the secured broker the worker signs in as the super user: it creates its topics
    itself, which nobody could have granted on a broker that was not up yet."""
    env = {**topic_env(kafka.bootstrap_servers, suffix=uuid.uuid4().hex[:8])}
    if kafka.security is not None:
        env |= {
            "BADBUZZ_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "BADBUZZ_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "BADBUZZ_KAFKA_SASL_USERNAME": ADMIN_USER,
            "BADBUZZ_KAFKA_SASL_PASSWORD": kafka.security.admin_password,
            "BADBUZZ_KAFKA_SSL_CA_FILE": str(kafka.security.tls.ca_file),
        }
    return env


@pytest.mark.parametrize("secured", [False, True], ids=["plaintext", "sasl_ssl"])
def test_a_worker_started_as_the_broker_opens_its_port_waits_and_scores(
    secured: bool, tmp_path: Path, start_worker: Callable[..., WorkerProcess]
) -> None:
    kafka = fresh_broker(tmp_path, secured)
    booting = threading.Thread(target=kafka.start, kwargs={"timeout": 120})
    booting.start()
    worker: WorkerProcess | None = None
    try:
        deadline = time.monotonic() + 120
        while not port_in_use(kafka.port):
            assert time.monotonic() < deadline, "the broker never opened its port"
            time.sleep(0.01)
        env = worker_env(kafka)
        worker = start_worker(env)
        booting.join()
        worker.wait_ready(timeout=120)
        produce(
            kafka.connection,
            env["BADBUZZ_TOPIC_RAW"],
            [tweet_payload(f"cold-{n}", "the flight was on time") for n in range(50)],
        )
        events = Collector(kafka.connection, env["BADBUZZ_TOPIC_SENTIMENT"])
        got = events.poll_until(lambda m: len(m) >= 50, timeout=60, alive=lambda: worker.alive)
        events.close()
        assert {m["tweet_id"] for m in got} == {f"cold-{n}" for n in range(50)}, worker.log_tail()
        assert worker.alive
        events_logged = [line["event"] for line in worker.log_lines()]
        assert "kafka_refused" not in events_logged
        waits = [line for line in worker.log_lines() if line["event"] == "kafka_not_ready"]
        assert all(line["retriable"] for line in waits), waits
    finally:
        booting.join()
        if worker is not None:
            worker.stop()  # before its broker, or it waits for it until killed
        kafka.stop()
