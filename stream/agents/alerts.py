"""<app>-signals: the detect step on batches of signal messages, the changed scopes' states
written through to the compacted state topic before the signals are committed
(stream/alerts/store.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial

import faust
import structlog

from schemas import AlertKind
from stream.agents.handling import Handling, record_of
from stream.alerts.detector import Admitted
from stream.alerts.store import StateStore
from stream.observability import metrics
from stream.records import RawRecord

log = structlog.get_logger(__name__)
LOGGED_LATE_IDS = 10  # a log line names this many of the events it reports dropped


def add_alerts_agent(
    app: faust.App, topic: faust.TopicT, handling: Handling, store: StateStore
) -> None:
    settings, pipeline = handling.settings, handling.pipeline

    async def apply_signals(
        generations: dict[tuple[int, int], int], records: Sequence[RawRecord]
    ) -> None:
        detected = await pipeline.detect(
            records, [generations[(r.partition, r.offset)] for r in records], store
        )
        await handling.deliver(detected.messages)
        for kind, scope, admitted in detected.admitted:
            report(kind, scope, admitted)
        for alert in detected.alerts:
            metrics.ALERTS.labels(kind=alert.kind.value, status=alert.status.value).inc()
            log.warning("bad_buzz_alert", **json.loads(alert.model_dump_json()))
        handling.status.record_alerts(detected.alerts)

    @app.agent(topic, name="detect")
    async def detect(stream: faust.StreamT) -> None:
        """Signals in batches: a busy scope's state is written once per batch, not per
        signal."""
        wait_s = settings.signals_batch_wait_ms / 1000
        async for events in stream.take_events(settings.batch_size, within=wait_s):
            generations = {
                (e.message.partition, e.message.offset): e.message.generation_id for e in events
            }
            apply = partial(apply_signals, generations)
            await handling.handle("detect", [record_of(e) for e in events], apply)


def report(kind: AlertKind, scope: str, admitted: Admitted) -> None:
    """Metrics by alert kind only (scopes are unbounded); the scope goes to the logs."""
    metrics.EVENT_TIME_CLAMPED.labels(source="signals").inc(admitted.clamped)
    metrics.ALERT_DUPLICATES_DROPPED.labels(kind=kind.value).inc(admitted.duplicates)
    metrics.ALERT_LATE_DROPPED.labels(kind=kind.value).inc(len(admitted.late))
    if admitted.late:
        behind = [drop.behind_s for drop in admitted.late]
        log.warning(
            "late_events_dropped",
            kind=kind.value,
            scope=scope,
            dropped=len(admitted.late),
            max_behind_s=round(max(behind), 1),
            min_behind_s=round(min(behind), 1),
            tweet_ids=[drop.tweet_id for drop in admitted.late[:LOGGED_LATE_IDS]],
        )
