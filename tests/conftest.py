"""Session-wide fixtures: one real Kafka broker for every integration test, and an
environment without the shell's settings."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from stream.kafka.local import LocalKafka
from tests.broker import Teardown, local_kafka_of, provide_broker

# An external broker for the integration tests, read before the environment is cleared.
SHELL_BOOTSTRAP_SERVERS = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
SETTINGS_PREFIXES = ("BADBUZZ_", "KAFKA_")


def pytest_configure(config: pytest.Config) -> None:
    """Tests run on the settings' defaults, whatever the shell exported (e.g. a secured
    cluster's BADBUZZ_KAFKA_*): every BADBUZZ_* and KAFKA_* variable is removed for the
    session, here rather than in a per-test fixture because some test modules build
    `Settings()` when they are imported. Worker processes the tests start inherit the
    cleared environment."""
    for name in [name for name in os.environ if name.startswith(SETTINGS_PREFIXES)]:
        del os.environ[name]


@pytest.fixture(scope="session")
def _broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Teardown]]:
    try:
        bootstrap, teardown = provide_broker(
            tmp_path_factory.mktemp("kafka"), SHELL_BOOTSTRAP_SERVERS
        )
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
