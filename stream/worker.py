"""The scoring agent: micro-batches from `tweets.raw` to `tweets.sentiment` / dead letters."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NoReturn

import faust
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from stream import metrics
from stream.app import create_app, raw_topic
from stream.intake import RawRecord
from stream.logs import configure_logging
from stream.publish import Outgoing, publish_reliably
from stream.scoring import BatchOutcome, TextScorer, process_batch
from stream.settings import Settings
from stream.topics import ensure_badbuzz_topics

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def record_of(event: faust.EventT) -> RawRecord:
    message = event.message
    return RawRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        timestamp=message.timestamp,
        value=event.value,
    )


def build_worker(
    settings: Settings, scorer: TextScorer, clock: Callable[[], datetime] = utc_now
) -> faust.App:
    app = create_app(settings)
    tweets = raw_topic(app, settings.topic_raw)
    sentiment = raw_topic(app, settings.topic_sentiment)
    deadletters = raw_topic(app, settings.topic_deadletter)
    metrics.MODEL_INFO.info({"version": scorer.version})

    def outgoing(outcome: BatchOutcome) -> list[Outgoing]:
        return [
            Outgoing(sentiment, event.tweet_id.encode(), event.model_dump_json().encode())
            for event in outcome.events
        ] + [
            Outgoing(deadletters, None, letter.model_dump_json().encode())
            for letter in outcome.dead_letters
        ]

    @app.agent(tweets)
    async def score(stream: faust.StreamT) -> None:
        async for events in stream.take_events(
            settings.batch_size, within=settings.batch_max_wait_ms / 1000
        ):
            records = [record_of(event) for event in events]
            started = time.perf_counter()
            try:
                outcome = process_batch(
                    records,
                    scorer,
                    max_payload_bytes=settings.max_payload_bytes,
                    deadletter_payload_bytes=settings.deadletter_payload_bytes,
                    now=clock(),
                )
            except Exception:
                crash_without_commit(records)
            inference_s = time.perf_counter() - started
            await publish_reliably(outgoing(outcome))
            observe_batch(records, outcome, inference_s)

    @app.page("/metrics")
    async def metrics_page(web: faust.web.Web, request: faust.web.Request) -> faust.web.Response:
        return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/health")
    async def health(web: faust.web.Web, request: faust.web.Request) -> faust.web.Response:
        return web.json({"status": "ok"})

    @app.page("/ready")
    async def ready(web: faust.web.Web, request: faust.web.Request) -> faust.web.Response:
        is_ready = not app.rebalancing and app.consumer is not None
        return web.json({"ready": is_ready}, status=200 if is_ready else 503)

    return app


def crash_without_commit(records: list[RawRecord]) -> NoReturn:
    """Faust marks a batch done even when its handler raises, which would lose it: exit at
    once instead, so the supervisor restarts the worker from the last committed offset."""
    log.exception(
        "batch_failed_exiting",
        partitions=sorted({record.partition for record in records}),
        first_offset=min(record.offset for record in records),
    )
    os._exit(70)


def observe_batch(records: list[RawRecord], outcome: BatchOutcome, inference_s: float) -> None:
    done = time.time()
    metrics.TWEETS_CONSUMED.inc(len(records))
    metrics.BATCH_SIZE.observe(len(records))
    metrics.INFERENCE_SECONDS.observe(inference_s)
    metrics.LAST_BATCH_AT.set(done)
    for event in outcome.events:
        metrics.TWEETS_SCORED.labels(label=event.label.value).inc()
    for letter in outcome.dead_letters:
        metrics.DEAD_LETTERS.labels(reason=letter.reason).inc()
    for record in records:
        if record.timestamp is not None:
            metrics.END_TO_END_SECONDS.observe(max(0.0, done - record.timestamp))
    log.info(
        "batch_done",
        consumed=len(records),
        scored=len(outcome.events),
        dead_lettered=len(outcome.dead_letters),
        reasons=sorted({letter.reason for letter in outcome.dead_letters}),
        inference_ms=round(inference_s * 1000, 2),
    )


def run_worker(settings: Settings, scorer: TextScorer) -> None:
    """Blocks until SIGTERM/SIGINT; Faust's worker then commits what was acknowledged."""
    configure_logging(settings.log_level)
    ensure_badbuzz_topics(settings)
    app = build_worker(settings, scorer)
    faust.Worker(
        app, loglevel=settings.log_level, override_logging=False
    ).execute_from_commandline()
