"""The worker's agents: scoring, feedback, and bad-buzz alerts, wired to their topics.

scoring:  tweets.raw -> tweets.sentiment, tweets.deadletter, <app>-signals (by scope)
feedback: tweets.feedback -> tweets.feedback.labelled, tweets.deadletter, <app>-signals
alerts:   <app>-signals -> alerts.badbuzz, with window state in <app>-alert-state (stream/state.py)
Every agent acknowledges its input only after its outputs are acknowledged.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import NoReturn

import faust
import structlog
from confluent_kafka.admin import AclOperation
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from model import SentimentModel
from schemas import AlertKind, DeadLetter, SentimentEvent
from stream import metrics
from stream.alerting import Detector, NegativeFeedbackRule, NegativeSentimentRule, ScopeState
from stream.app import create_app, raw_topic
from stream.drift import DriftMonitor
from stream.feedback import labelled_example, process_feedback
from stream.intake import REASONS, RawRecord
from stream.kafka import KafkaAccessError, KafkaConnection
from stream.kafka.access import READ, WRITE, check_access
from stream.logs import configure_logging
from stream.publish import InFlight, Outgoing, OutputProducer
from stream.scoring import BatchOutcome, process_batch
from stream.settings import Settings
from stream.signals import Signal, sentiment_signals
from stream.state import PartitionedStateStore
from stream.topics import ensure_badbuzz_topics
from stream.windows import WindowSpec

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


def detectors_from(settings: Settings) -> dict[AlertKind, Detector]:
    spec = WindowSpec(
        size_s=settings.alert_window_s,
        step_s=settings.alert_step_s,
        lateness_s=settings.alert_lateness_s,
        baseline_s=settings.alert_baseline_s,
        examples=settings.alert_examples,
    )
    sentiment_rule = NegativeSentimentRule(
        min_negatives=settings.alert_min_negatives,
        min_share=settings.alert_min_negative_share,
        baseline_margin=settings.alert_baseline_margin,
        baseline_min_total=settings.alert_baseline_min_total,
    )
    feedback_rule = NegativeFeedbackRule(settings.alert_feedback_min_reports)
    return {
        AlertKind.NEGATIVE_SENTIMENT: Detector(
            AlertKind.NEGATIVE_SENTIMENT, sentiment_rule, spec, settings.alert_cooldown_s
        ),
        AlertKind.NEGATIVE_FEEDBACK: Detector(
            AlertKind.NEGATIVE_FEEDBACK, feedback_rule, spec, settings.alert_cooldown_s
        ),
    }


def required_access(settings: Settings) -> Mapping[str, frozenset[AclOperation]]:
    """The operations the worker's principal needs on each topic (README lists them as ACLs):
    it reads its inputs, writes its outputs, and both on its two internal topics."""
    read, write, both = frozenset({READ}), frozenset({WRITE}), frozenset({READ, WRITE})
    return {
        settings.topic_raw: read,
        settings.topic_feedback: read,
        settings.topic_signals: both,
        settings.topic_alert_state: both,
        settings.topic_feedback_labelled: write,
        **{topic: write for topic in settings.output_topics},
    }


def build_worker(
    settings: Settings,
    scorer: SentimentModel,
    kafka: KafkaConnection,
    clock: Callable[[], datetime] = utc_now,
) -> faust.App:
    app = create_app(settings, kafka)
    tweets = raw_topic(app, settings.topic_raw)
    feedback_in = raw_topic(app, settings.topic_feedback)
    signals = raw_topic(app, settings.topic_signals)
    outputs = OutputProducer(kafka)
    alert_state = PartitionedStateStore(kafka, settings.topic_alert_state)
    detectors = detectors_from(settings)
    batch_wait_s = settings.batch_max_wait_ms / 1000
    metrics.MODEL_INFO.info({"version": scorer.version})
    metrics.declare_label_values(REASONS)
    drift = DriftMonitor(
        scorer.metadata["reference_histogram"], scorer.threshold, settings.drift_window
    )
    batches = itertools.count()

    def observe_drift(outcome: BatchOutcome) -> None:
        drift.observe([event.p_positive for event in outcome.events])
        metrics.DRIFT_PSI.set(drift.psi)
        metrics.PREDICTED_NEGATIVE_SHARE.set(drift.negative_share)
        if outcome.events and next(batches) % settings.drift_oov_every == 0:
            metrics.OOV_TOKEN_RATE.set(scorer.oov_rate([event.text for event in outcome.events]))

    def dead_letter_messages(letters: list[DeadLetter]) -> list[Outgoing]:
        for letter in letters:
            metrics.DEAD_LETTERS.labels(reason=letter.reason).inc()
        return [Outgoing.of(settings.topic_deadletter, None, letter) for letter in letters]

    def signal_messages(batch: list[Signal]) -> list[Outgoing]:
        return [Outgoing(settings.topic_signals, s.scope.encode(), s.encode()) for s in batch]

    @app.agent(tweets)
    async def score(stream: faust.StreamT) -> None:
        in_flight = InFlight(settings.max_batches_in_flight)

        async def deliver(records: list[RawRecord], messages: list[Outgoing]) -> None:
            try:
                await outputs.deliver(messages)
            except Exception:
                crash_without_commit(records)

        async def acknowledge(
            events: Sequence[faust.EventT],
            records: list[RawRecord],
            outcome: BatchOutcome,
            inference_s: float,
        ) -> None:
            for event in events:
                await stream.ack(event)
            observe_batch(records, outcome.events, outcome.dead_letters, inference_s)
            observe_drift(outcome)

        async for events in stream.take_events(settings.batch_size, within=batch_wait_s):
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
            messages = (
                [Outgoing.of(settings.topic_sentiment, e.tweet_id, e) for e in outcome.events]
                + dead_letter_messages(outcome.dead_letters)
                + signal_messages(sentiment_signals(outcome.events))
            )

            for event in events:
                event.message.incref()  # held until delivered: take_events' own ack is not final
            await in_flight.start(
                deliver(records, messages),
                partial(acknowledge, events, records, outcome, inference_s),
            )

    @app.agent(feedback_in)
    async def collect_feedback(stream: faust.StreamT) -> None:
        async for events in stream.take_events(settings.batch_size, within=batch_wait_s):
            now = clock()
            outcome = process_feedback(
                [record_of(event) for event in events],
                max_payload_bytes=settings.max_payload_bytes,
                deadletter_payload_bytes=settings.deadletter_payload_bytes,
                now=now,
            )
            examples = []
            for _, report in outcome.accepted:
                metrics.FEEDBACK.labels(verdict=report.verdict.value).inc()
                example = labelled_example(report)
                if example is not None:
                    examples.append(
                        Outgoing(
                            settings.topic_feedback_labelled,
                            report.tweet_id.encode(),
                            json.dumps(example).encode(),
                        )
                    )
            await outputs.deliver(
                examples
                + dead_letter_messages(outcome.dead_letters)
                + signal_messages(outcome.signals(now))
            )

    @app.agent(signals)
    async def detect(stream: faust.StreamT) -> None:
        async for event in stream.events():
            signal = Signal.decode(event.value)
            message = event.message
            states = await alert_state.partition(message.partition, message.generation_id)
            key = f"{signal.kind.value}|{signal.scope}".encode()
            stored = states.get(key)
            state = ScopeState.from_dict(json.loads(stored) if stored else None)
            raised = detectors[signal.kind].observe(
                state, signal.scope, signal.observations, clock()
            )
            saved = alert_state.put(message.partition, key, json.dumps(state.to_dict()).encode())
            for alert in raised:
                metrics.ALERTS.labels(kind=alert.kind.value, status=alert.status.value).inc()
                log.warning("bad_buzz_alert", **json.loads(alert.model_dump_json()))
            await outputs.deliver(
                [saved, *(Outgoing.of(settings.topic_alerts, a.scope, a) for a in raised)]
            )

    @app.timer(interval=settings.lag_report_interval_s)
    async def report_lag() -> None:
        """Lag per owned input partition; partitions handed to another worker drop out."""
        metrics.CONSUMER_LAG.clear()
        inputs = {settings.topic_raw, settings.topic_feedback, settings.topic_signals}
        for tp in (tp for tp in app.consumer.assignment() if tp.topic in inputs):
            position = await app.consumer.position(tp)
            highwater = app.consumer.highwater(tp)
            if position is not None and highwater is not None:
                lag = max(0, highwater - position)
                metrics.CONSUMER_LAG.labels(topic=tp.topic, partition=str(tp.partition)).set(lag)

    @app.on_before_shutdown.connect
    async def flush_outputs(app: faust.App, **kwargs: object) -> None:
        outputs.close()

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


def observe_batch(
    records: list[RawRecord],
    events: list[SentimentEvent],
    letters: list[DeadLetter],
    inference_s: float,
) -> None:
    done = time.time()
    metrics.TWEETS_CONSUMED.inc(len(records))
    metrics.BATCH_SIZE.observe(len(records))
    metrics.INFERENCE_SECONDS.observe(inference_s)
    metrics.LAST_BATCH_AT.set(done)
    for event in events:
        metrics.TWEETS_SCORED.labels(label=event.label.value).inc()
    for record in records:
        if record.timestamp is not None:
            metrics.END_TO_END_SECONDS.observe(max(0.0, done - record.timestamp))
    log.info(
        "batch_done",
        consumed=len(records),
        scored=len(events),
        dead_lettered=len(letters),
        rejected=[f"{d.partition}:{d.offset}:{d.reason}" for d in letters],
        inference_ms=round(inference_s * 1000, 2),
    )


EXIT_KAFKA_REFUSED = 78  # EX_CONFIG: a supervisor restarting at once would meet the same refusal


def run_worker(settings: Settings, scorer: SentimentModel) -> int:
    """Blocks until SIGTERM/SIGINT; Faust's worker then commits what was acknowledged. The
    brokers' refusal (credentials, certificate, ACLs) is one error line and a non-zero exit,
    not clients retrying in a loop."""
    configure_logging(settings.log_level)
    kafka = KafkaConnection.from_settings(settings)
    try:
        ensure_badbuzz_topics(settings, kafka)
        check_access(kafka, required_access(settings), settings.app_id)
    except KafkaAccessError as exc:
        log.error("kafka_refused", error_type=type(exc).__name__, error=str(exc), exc_info=exc)
        return EXIT_KAFKA_REFUSED
    app = build_worker(settings, scorer, kafka)
    worker = faust.Worker(app, loglevel=settings.log_level, override_logging=False)
    worker.execute_from_commandline()
    return 0
