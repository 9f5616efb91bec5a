"""Session-wide fixtures: one real Kafka broker for every integration test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stream.kafka.local import LocalKafka
from tests.broker import Teardown, local_kafka_of, provide_broker


@pytest.fixture(scope="session")
def _broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Teardown]]:
    try:
        bootstrap, teardown = provide_broker(tmp_path_factory.mktemp("kafka"))
    except Exception as exc:
        pytest.fail(f"no Kafka broker could be started for the integration tests: {exc}")
    yield bootstrap, teardown
    teardown()


@pytest.fixture(scope="session")
def kafka_bootstrap(_broker: tuple[str, Teardown]) -> str:
    return _broker[0]


@pytest.fixture(scope="session")
def local_kafka(_broker: tuple[str, Teardown]) -> LocalKafka:
    """The session broker's process, for fault tests: they must `start()` it again when done
    (same port and data, so `kafka_bootstrap` stays valid for later tests)."""
    local = local_kafka_of(_broker[1])
    if local is None:
        pytest.fail(
            "fault-injection tests need the local jar broker; unset KAFKA_BOOTSTRAP_SERVERS"
        )
    return local


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`pytest -m "not integration"` is the fast run the README promises: a test that reaches
    the broker without the marker would start Kafka there, so it is refused here."""
    unmarked = [
        item.nodeid
        for item in items
        if "_broker" in getattr(item, "fixturenames", ())
        and item.get_closest_marker("integration") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests that use the Kafka broker need @pytest.mark.integration: " + ", ".join(unmarked)
        )
