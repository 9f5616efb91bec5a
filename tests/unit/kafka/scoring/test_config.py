"""The scoring consumer's configuration comes from Settings, and says what each client is."""

from __future__ import annotations

from stream.kafka.connection import KafkaConnection
from stream.kafka.scoring.config import ScoringConfig
from stream.settings import Settings

KAFKA = KafkaConnection("127.0.0.1:9092")


def test_the_config_is_the_settings() -> None:
    settings = Settings(batch_size=64, batch_max_wait_ms=15, alert_step_s=30)
    config = ScoringConfig.from_settings(settings, KAFKA)
    assert (config.topic, config.group_id) == (settings.topic_raw, settings.scoring_group_id)
    assert (config.batch_size, config.batch_wait_s, config.idle_tick_s) == (64, 0.015, 15.0)
    assert config.handler_threads == settings.scoring_threads
    # no record batch larger than an output may be
    assert config.producer()["message.max.bytes"] == settings.max_output_bytes


def test_at_least_once_stores_offsets_by_hand_and_librdkafka_commits_them() -> None:
    config = ScoringConfig.from_settings(Settings(), KAFKA)
    consumer = config.consumer()
    assert (consumer["enable.auto.offset.store"], consumer["enable.auto.commit"]) == (False, True)
    assert "transactional.id" not in config.producer()


def test_exactly_once_commits_in_transactions_under_a_stable_id() -> None:
    settings = Settings(processing_guarantee="exactly_once", transactional_id="worker-a")
    config = ScoringConfig.from_settings(settings, KAFKA)
    assert config.consumer()["enable.auto.commit"] is False
    assert config.producer()["transactional.id"] == "worker-a"
