"""The scoring consumer's configuration: one typed object, built from Settings (where every
default lives), and the librdkafka client configs it implies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from stream.kafka.connection import KafkaConnection
from stream.observability.logs import LIBRDKAFKA
from stream.settings import Settings

Guarantee = Literal["at_least_once", "exactly_once"]
ClientConfig = Mapping[str, Any]


@dataclass(frozen=True)
class ScoringConfig:
    client: ClientConfig  # connection and security, for both clients
    topic: str
    group_id: str
    batch_size: int
    batch_wait_s: float
    max_batches_in_flight: int  # at least once: batches awaiting acks
    handler_threads: int  # batches handled side by side
    commit_interval_s: float
    session_timeout_s: float
    guarantee: Guarantee
    transactional_id: str
    idle_tick_s: float  # an empty batch this often while nothing is read
    lag_interval_s: float

    @classmethod
    def from_settings(cls, settings: Settings, kafka: KafkaConnection) -> ScoringConfig:
        return cls(
            # no record batch larger than an output may be: one the topic refuses would take
            # its neighbours along, and in exactly-once mode doom the transaction
            client=kafka.librdkafka({"message.max.bytes": settings.max_output_bytes}),
            topic=settings.topic_raw,
            group_id=settings.scoring_group_id,
            batch_size=settings.batch_size,
            batch_wait_s=settings.batch_max_wait_ms / 1000,
            max_batches_in_flight=settings.max_batches_in_flight,
            handler_threads=settings.scoring_threads,
            commit_interval_s=settings.commit_interval_s,
            session_timeout_s=settings.session_timeout_s,
            guarantee=settings.processing_guarantee,
            transactional_id=settings.scoring_transactional_id,
            # the alert watermarks move on with the clock while the input is idle
            idle_tick_s=settings.alert_step_s / 2,
            lag_interval_s=settings.lag_report_interval_s,
        )

    @property
    def exactly_once(self) -> bool:
        return self.guarantee == "exactly_once"

    def consumer(self) -> dict[str, Any]:
        """Cooperative-sticky, offsets stored by hand (committed by the sender's rules)."""
        return {
            **self.client,
            "logger": LIBRDKAFKA,
            "group.id": self.group_id,
            "partition.assignment.strategy": "cooperative-sticky",
            "auto.offset.reset": "earliest",
            # prefetch seconds of tweets, not librdkafka's default of 100,000 messages or
            # 64 MB per partition: on a backlog that read-ahead was most of the RSS
            "queued.min.messages": 10_000,
            "queued.max.messages.kbytes": 4_096,
            "enable.auto.commit": not self.exactly_once,
            "enable.auto.offset.store": False,
            "auto.commit.interval.ms": int(self.commit_interval_s * 1000),
            "session.timeout.ms": int(self.session_timeout_s * 1000),
            "heartbeat.interval.ms": int(self.session_timeout_s * 250),
        }

    def producer(self) -> dict[str, Any]:
        config = {
            **self.client,
            "logger": LIBRDKAFKA,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 2,
        }
        if self.exactly_once:
            # stable across this worker's restarts: the restarted worker fences its killed
            # predecessor and aborts the transaction it left open, instead of read_committed
            # consumers waiting for that transaction to time out
            config["transactional.id"] = self.transactional_id
            config["transaction.timeout.ms"] = 30_000
        return config
