"""`badbuzz notify`: alerts.badbuzz -> Alertmanager, at least once, in its own consumer group.

Offsets are committed only after Alertmanager accepted the alerts they carry, so a crash
or an Alertmanager outage loses nothing: the alerts are posted again, and Alertmanager,
which identifies an alert by its labels, does not notify twice for the same episode.

The active alerts live in memory. At start they are rebuilt by reading the topic from its
beginning up to the group's committed offsets (without posting), then posted again at once:
an alert raised before a restart stays alive in Alertmanager and is resolved when its
`resolved` message arrives.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)
from prometheus_client import start_http_server
from pydantic import ValidationError

from schemas import Alert
from stream.kafka import KafkaConnection
from stream.kafka.compacted import watermarks
from stream.notify.delivery import AlertmanagerClient, Backoff, deliver
from stream.notify.episodes import ActiveAlerts
from stream.notify.payload import Presentation
from stream.observability.logs import configure_logging
from stream.observability.metrics import (
    NOTIFICATION_OUTCOMES,
    NOTIFICATIONS,
    NOTIFIER_ACTIVE_ALERTS,
    NOTIFIER_REGISTRY,
)
from stream.settings import Settings

log = structlog.get_logger("badbuzz.notify")
ALERT_LIFETIMES = 4  # endsAt is this many resend intervals ahead, as Prometheus does
BATCH = 100
# what a group's coordinator answers while it is being elected or loaded
COORDINATOR_SETTLING = frozenset(
    {
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    }
)


def decode(message: Message) -> Alert | None:
    try:
        return Alert.model_validate_json(message.value() or b"")
    except ValidationError as error:
        log.error(
            "alert_unreadable",
            partition=message.partition(),
            offset=message.offset(),
            error=str(error)[:300],
        )
        return None


class Notifier:
    def __init__(
        self,
        settings: Settings,
        kafka: KafkaConnection,
        client: AlertmanagerClient,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.kafka = kafka
        self.client = client
        self.clock = clock
        self.backoff = Backoff(settings.notify_retry_initial_s, settings.notify_retry_max_s)
        self.active = ActiveAlerts(
            Presentation(settings.status_page_url, settings.notify_example_chars),
            resend_s=settings.notify_resend_s,
            ttl_s=ALERT_LIFETIMES * settings.notify_resend_s,
        )
        self.stopping = threading.Event()

    def _consumer_config(self) -> dict[str, object]:
        return self.kafka.librdkafka(
            {
                "group.id": self.settings.notify_group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                # a killed notifier's partitions move to its restart after this long
                "session.timeout.ms": int(self.settings.session_timeout_s * 1000),
            }
        )

    def _wait(self, seconds: float) -> bool:
        """Sleeps unless asked to stop; False when stopping."""
        return not self.stopping.wait(seconds)

    def rebuild(self) -> None:
        """Reads what the group already delivered, to know which alerts are still active."""
        topic = self.settings.topic_alerts
        reader = Consumer(self._consumer_config())
        try:
            partitions = reader.list_topics(topic, timeout=30).topics[topic].partitions
            committed = self._committed(reader, [TopicPartition(topic, p) for p in partitions])
            ends = {
                tp.partition: tp.offset
                for tp in committed
                if tp.offset > watermarks(reader, tp, time.monotonic() + 30)[0]
            }
            reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
            now = self.clock()
            while ends and not self.stopping.is_set():
                for message in reader.consume(BATCH, timeout=1.0):
                    end = ends.get(message.partition())
                    if message.error() is None and end is not None and message.offset() < end:
                        alert = decode(message)
                        if alert is not None:
                            self.active.apply(alert, now)
                for tp in reader.position([TopicPartition(topic, p) for p in list(ends)]):
                    if tp.offset >= ends[tp.partition]:
                        del ends[tp.partition]
        finally:
            reader.close()
        log.info("notifier_rebuilt", active_alerts=len(self.active))

    def _committed(
        self, reader: Consumer, partitions: list[TopicPartition]
    ) -> list[TopicPartition]:
        """The group's committed offsets; a new group's coordinator may take a moment."""
        attempt = 0
        while True:
            try:
                return reader.committed(partitions, timeout=30)
            except KafkaException as error:
                attempt += 1
                settling = error.args[0].retriable() or error.args[0].code() in COORDINATOR_SETTLING
                if not settling or not self._wait(self.backoff.delay(attempt)):
                    raise
                log.info("committed_offsets_retry", attempt=attempt, error=str(error))

    def run(self) -> int:
        self.rebuild()
        consumer = Consumer(self._consumer_config())
        consumer.subscribe([self.settings.topic_alerts])
        log.info(
            "notifier_started",
            topic=self.settings.topic_alerts,
            group=self.settings.notify_group_id,
            alertmanager=self.client.url,
        )
        try:
            while not self.stopping.is_set():
                self._refresh_if_due()
                messages = consumer.consume(BATCH, timeout=1.0)
                if not messages:
                    continue
                now = self.clock()
                payloads = []
                for message in messages:
                    if message.error() is not None:
                        log.warning("consume_error", error=str(message.error()))
                        continue
                    alert = decode(message)
                    if alert is not None:
                        payloads.append(self.active.apply(alert, now))
                        log.info(
                            "alert_received",
                            alert_id=alert.alert_id,
                            status=alert.status.value,
                            brand=alert.scope,
                        )
                NOTIFIER_ACTIVE_ALERTS.set(len(self.active))
                if not deliver(self.client, payloads, self.backoff, self._wait):
                    break  # stopping: not committed, posted again after the restart
                self._commit(consumer)
        finally:
            consumer.close()
        log.info("notifier_stopped")
        return 0

    def _refresh_if_due(self) -> None:
        now = self.clock()
        if self.active.refresh_due(now):
            deliver(self.client, self.active.refreshed(now), self.backoff, self._wait)

    def _commit(self, consumer: Consumer) -> None:
        try:
            consumer.commit(asynchronous=False)
        except KafkaException as error:
            # e.g. the partitions moved during a long outage: their next owner posts these
            # alerts again, which Alertmanager de-duplicates
            log.warning("commit_failed", error=str(error))


def run_notifier(settings: Settings) -> int:
    configure_logging(settings.log_level)
    client = AlertmanagerClient(settings.alertmanager_url)
    for outcome in NOTIFICATION_OUTCOMES:
        NOTIFICATIONS.labels(receiver=client.receiver, outcome=outcome)
    start_http_server(
        settings.notify_metrics_port, addr=settings.web_host, registry=NOTIFIER_REGISTRY
    )
    notifier = Notifier(settings, KafkaConnection.from_settings(settings), client)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: notifier.stopping.set())
    return notifier.run()
