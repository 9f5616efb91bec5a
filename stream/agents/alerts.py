"""<app>-signals: the detect step per signal, with its scope's state written through to the
compacted state topic before the signal is committed (stream/alerts/store.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial

import faust
import structlog

from stream.agents.handling import Handling, record_of
from stream.alerts.detector import Observed
from stream.alerts.store import StateStore
from stream.observability import metrics
from stream.pipeline.signals import Signal
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
        for signal, observed in detected.observed:
            report(signal, observed)
            handling.status.record_alerts(observed.alerts)

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


def report(signal: Signal, observed: Observed) -> None:
    """Metrics by alert kind only (scopes are unbounded); the scope goes to the logs."""
    kind = signal.kind.value
    metrics.EVENT_TIME_CLAMPED.labels(source="signals").inc(observed.clamped)
    metrics.ALERT_DUPLICATES_DROPPED.labels(kind=kind).inc(observed.duplicates)
    metrics.ALERT_LATE_DROPPED.labels(kind=kind).inc(len(observed.late))
    for alert in observed.alerts:
        metrics.ALERTS.labels(kind=alert.kind.value, status=alert.status.value).inc()
        log.warning("bad_buzz_alert", **json.loads(alert.model_dump_json()))
    if observed.repaired:
        metrics.EVENT_TIME_CLAMPED.labels(source="alert_state").inc()
        log.warning(
            "alert_state_repaired", kind=kind, scope=signal.scope, reason="future_watermark"
        )
    if observed.late:
        behind = [drop.behind_s for drop in observed.late]
        log.warning(
            "late_events_dropped",
            kind=kind,
            scope=signal.scope,
            dropped=len(observed.late),
            max_behind_s=round(max(behind), 1),
            min_behind_s=round(min(behind), 1),
            tweet_ids=[drop.tweet_id for drop in observed.late[:LOGGED_LATE_IDS]],
        )
