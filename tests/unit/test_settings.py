"""Settings come from the prefixed environment and refuse nonsense."""

import pytest

from stream.kafka import KafkaConnection
from stream.settings import Settings


def test_settings_read_prefixed_env_and_kafka_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9093")
    monkeypatch.setenv("BADBUZZ_BATCH_SIZE", "128")
    monkeypatch.setenv("BADBUZZ_TOPIC_RAW", "in.raw")
    settings = Settings()
    assert settings.batch_size == 128
    assert settings.topic_raw == "in.raw"
    assert KafkaConnection.from_settings(settings).faust_broker_url == (
        "kafka://k1:9092;kafka://k2:9093"
    )


def test_settings_reject_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BADBUZZ_BATCH_SIZE", "0")
    with pytest.raises(ValueError, match="batch_size"):
        Settings()
