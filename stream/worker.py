"""The worker's agents: scoring, feedback, and bad-buzz alerts, wired to their topics.

scoring:  tweets.raw -> tweets.sentiment, tweets.deadletter, <app>-signals (by scope)
feedback: tweets.feedback -> tweets.feedback.labelled, tweets.deadletter, <app>-signals
alerts:   <app>-signals -> alerts.badbuzz, with window state in <app>-alert-state (stream/state.py)
Every agent hands its input to `handle_inputs` and acknowledges it only after that returned:
its outputs acknowledged by the broker, or, if the handling kept raising, its dead letters.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial

import faust
import structlog
from confluent_kafka.admin import AclOperation

from model import SentimentModel
from schemas import DeadLetter, SentimentEvent
from stream import metrics
from stream.alerting import Observed, ScopeState, detectors_from
from stream.app import create_app, raw_topic
from stream.drift import DriftMonitor
from stream.faults import (
    PROCESSING_FAILED,
    RetryPolicy,
    handle_isolating_failures,
    input_span,
    processing_failed_letter,
)
from stream.feedback import labelled_example, process_feedback
from stream.intake import REASONS, RawRecord, UndecodableBatch, undecodable_batch_letter
from stream.kafka import KafkaAccessError, KafkaConnection
from stream.kafka.access import READ, WRITE, check_access
from stream.kafka.scoring_consumer import HandledBatch, ScoringConsumer
from stream.labelshift import label_shift_from
from stream.logs import configure_logging
from stream.publish import Outgoing, OutputProducer
from stream.scoring import BatchOutcome, process_batch
from stream.settings import Settings
from stream.signals import Signal, scope_of, sentiment_signals
from stream.state import PartitionedStateStore
from stream.topics import ensure_badbuzz_topics
from stream.web import StatusBoard, register_web

log = structlog.get_logger(__name__)
LOGGED_LATE_IDS = 10  # a log line names this many of the events it reports dropped


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
    outputs = OutputProducer(kafka)

    status = StatusBoard()

    def dead_letter_messages(letters: list[DeadLetter]) -> list[Outgoing]:
        for letter in letters:
            metrics.DEAD_LETTERS.labels(reason=letter.reason).inc()
        status.record_dead_letters(letters)
        return [Outgoing.of(settings.topic_deadletter, None, letter) for letter in letters]

    async def dead_letter_undecodable(batch: UndecodableBatch) -> None:
        letter = undecodable_batch_letter(batch, clock())
        log.error(
            "undecodable_batch_skipped",
            topic=batch.topic,
            partition=batch.partition,
            first_offset=batch.first_offset,
            last_offset=batch.last_offset,
            exc_info=batch.error,
        )
        await outputs.deliver(dead_letter_messages([letter]))

    app = create_app(settings, kafka, dead_letter_undecodable)
    feedback_in = raw_topic(app, settings.topic_feedback)
    signals = raw_topic(app, settings.topic_signals)
    alert_state = PartitionedStateStore(kafka, settings.topic_alert_state)
    detectors = detectors_from(settings)
    shift = label_shift_from(settings, scorer)
    batch_wait_s = settings.batch_max_wait_ms / 1000
    metrics.MODEL_INFO.info({"version": scorer.version})
    metrics.declare_label_values((*REASONS, PROCESSING_FAILED), settings.input_topics)
    retry_policy = RetryPolicy(settings.processing_attempts, settings.processing_backoff_s)
    drift = DriftMonitor(
        scorer.metadata["reference_histogram"], scorer.threshold, settings.drift_window
    )
    batches = itertools.count()

    def observe_prior() -> None:
        if shift is None:
            return
        for name, p in zip(shift.classes, shift.overall.prior, strict=True):
            metrics.LABEL_PRIOR.labels(**{"class": name}).set(float(p))
        metrics.LABEL_PRIOR_SCOPES.set(shift.scopes_with_own_prior)

    def observe_drift(outcome: BatchOutcome) -> None:
        drift.observe(outcome.model_p_positive)
        metrics.DRIFT_PSI.set(drift.psi)
        metrics.PREDICTED_NEGATIVE_SHARE.set(drift.negative_share)
        if outcome.events and next(batches) % settings.drift_oov_every == 0:
            metrics.OOV_TOKEN_RATE.set(scorer.oov_rate([event.text for event in outcome.events]))

    def signal_messages(batch: list[Signal]) -> list[Outgoing]:
        return [Outgoing(settings.topic_signals, s.scope.encode(), s.encode()) for s in batch]

    async def handle_inputs(
        agent: str,
        records: Sequence[RawRecord],
        handle: Callable[[Sequence[RawRecord]], Awaitable[None]],
    ) -> None:
        """The one way an agent handles its input, since Faust acks an event whose handler
        raised: retried with backoff, then input by input, and what still fails is
        dead-lettered as processing_failed. It never raises for a bad input, so the caller's
        ack always follows a finished handling."""

        def log_retry(error: Exception, attempt: int, delay_s: float) -> None:
            log.warning(
                "processing_retry",
                agent=agent,
                attempt=attempt,
                delay_s=delay_s,
                inputs=input_span(records),
                exc_info=error,
            )

        failed = await handle_isolating_failures(records, handle, retry_policy, on_retry=log_retry)
        now = clock()
        letters = []
        for record, failure in failed:
            log.error(
                "processing_failed",
                agent=agent,
                attempts=failure.attempts,
                inputs=input_span([record]),
                exc_info=failure.error,
            )
            letters.append(
                processing_failed_letter(record, failure, settings.deadletter_payload_bytes, now)
            )
        if letters:
            await outputs.deliver(dead_letter_messages(letters))
        for topic, count in Counter(record.topic for record in records).items():
            metrics.MESSAGES_CONSUMED.labels(topic=topic).inc(count)

    async def handle_raw(
        records: list[RawRecord], undecodable: list[UndecodableBatch]
    ) -> HandledBatch:
        """One batch of tweets.raw, on the scoring consumer's thread: what to produce, and
        what to count once the broker has it."""
        scored: list[tuple[BatchOutcome, float]] = []

        async def score(batch: Sequence[RawRecord]) -> None:
            started = time.perf_counter()
            outcome = process_batch(
                batch,
                scorer,
                shift,
                max_payload_bytes=settings.max_payload_bytes,
                deadletter_payload_bytes=settings.deadletter_payload_bytes,
                now=clock(),
                event_time_max_ahead_s=settings.event_time_max_ahead_s,
            )
            scored.append((outcome, time.perf_counter() - started))

        if records:
            await handle_inputs("score", records, score)
        for batch in undecodable:
            await dead_letter_undecodable(batch)
        metrics.MESSAGES_CONSUMED.labels(topic=settings.topic_raw).inc(len(undecodable))
        outcome = BatchOutcome(
            events=[e for part, _ in scored for e in part.events],
            dead_letters=[d for part, _ in scored for d in part.dead_letters],
            clamped=sum(part.clamped for part, _ in scored),
            model_p_positive=[p for part, _ in scored for p in part.model_p_positive],
        )
        inference_s = sum(seconds for _, seconds in scored)
        messages = (
            [Outgoing.of(settings.topic_sentiment, e.tweet_id, e) for e in outcome.events]
            + dead_letter_messages(outcome.dead_letters)
            + signal_messages(sentiment_signals(outcome.events))
        )

        def delivered() -> None:
            metrics.TWEETS_CONSUMED.inc(len(records) + len(undecodable))
            observe_batch(records, outcome.events, outcome.dead_letters, inference_s)
            status.record_batch(len(records))
            observe_drift(outcome)
            observe_prior()
            metrics.EVENT_TIME_CLAMPED.labels(source="tweets").inc(outcome.clamped)

        return HandledBatch(messages, delivered)

    scoring = ScoringConsumer(
        kafka.librdkafka(),
        topic=settings.topic_raw,
        group_id=settings.scoring_group_id,
        legacy_group_id=settings.app_id,
        handle=handle_raw,
        batch_size=settings.batch_size,
        batch_wait_s=batch_wait_s,
        max_batches_in_flight=settings.max_batches_in_flight,
        commit_interval_s=settings.commit_interval_s,
        session_timeout_s=settings.session_timeout_s,
        guarantee=settings.processing_guarantee,
    )

    @app.task
    async def start_scoring() -> None:
        scoring.start()

    @app.agent(feedback_in)
    async def collect_feedback(stream: faust.StreamT) -> None:
        async def record_feedback(records: Sequence[RawRecord]) -> None:
            now = clock()
            outcome = process_feedback(
                records,
                max_payload_bytes=settings.max_payload_bytes,
                deadletter_payload_bytes=settings.deadletter_payload_bytes,
                now=now,
                event_time_max_ahead_s=settings.event_time_max_ahead_s,
            )
            metrics.EVENT_TIME_CLAMPED.labels(source="feedback").inc(outcome.clamped)
            examples = []
            if shift is not None:
                shift.observe_labels(
                    (scope_of(report.brand), report.true_label.value)
                    for _, report in outcome.accepted
                    if report.true_label is not None
                )
                observe_prior()
            for _, report in outcome.accepted:
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
                + signal_messages(outcome.signals())
            )
            for _, report in outcome.accepted:
                metrics.FEEDBACK.labels(verdict=report.verdict.value).inc()
            log.info(
                "feedback_batch_done",
                consumed=len(records),
                accepted=len(outcome.accepted),
                dead_lettered=len(outcome.dead_letters),
                rejected=rejected_inputs(outcome.dead_letters),
            )

        async for events in stream.take_events(settings.batch_size, within=batch_wait_s):
            records = [record_of(event) for event in events]
            await handle_inputs("feedback", records, record_feedback)

    @app.agent(signals)
    async def detect(stream: faust.StreamT) -> None:
        async def apply_signal(event: faust.EventT, _record: Sequence[RawRecord]) -> None:
            signal = Signal.decode(event.value)
            message = event.message
            states = await alert_state.partition(message.partition, message.generation_id)
            key = f"{signal.kind.value}|{signal.scope}".encode()
            stored = states.get(key)
            state = ScopeState.from_dict(json.loads(stored) if stored else None)
            observed = detectors[signal.kind].observe(
                state, signal.scope, signal.observations, clock()
            )
            report_observed(signal, observed)
            saved = alert_state.put(message.partition, key, json.dumps(state.to_dict()).encode())
            raised = observed.alerts
            status.record_alerts(raised)
            for alert in raised:
                metrics.ALERTS.labels(kind=alert.kind.value, status=alert.status.value).inc()
                log.warning("bad_buzz_alert", **json.loads(alert.model_dump_json()))
            await outputs.deliver(
                [saved, *(Outgoing.of(settings.topic_alerts, a.scope, a) for a in raised)]
            )

        async for event in stream.events():
            await handle_inputs("detect", [record_of(event)], partial(apply_signal, event))

    @app.timer(interval=settings.lag_report_interval_s)
    async def report_lag() -> None:
        """Lag per owned input partition; partitions handed to another worker drop out."""
        metrics.CONSUMER_LAG.clear()
        for (topic, partition), lag in list(scoring.lag.items()):
            metrics.CONSUMER_LAG.labels(topic=topic, partition=str(partition)).set(lag)
        for tp in (tp for tp in app.consumer.assignment() if tp.topic in settings.input_topics):
            position = await app.consumer.position(tp)
            highwater = app.consumer.highwater(tp)
            if position is not None and highwater is not None:
                lag = max(0, highwater - position)
                metrics.CONSUMER_LAG.labels(topic=tp.topic, partition=str(tp.partition)).set(lag)

    @app.on_before_shutdown.connect
    async def flush_outputs(app: faust.App, **kwargs: object) -> None:
        await asyncio.to_thread(scoring.stop)
        outputs.close()

    register_web(app, settings, scorer, outputs, status, lambda: scoring.alive)
    return app


def rejected_inputs(letters: list[DeadLetter]) -> list[str]:
    return [f"{letter.partition}:{letter.offset}:{letter.reason}" for letter in letters]


def report_observed(signal: Signal, observed: Observed) -> None:
    """Metrics by alert kind only (scopes are unbounded); the scope goes to the logs."""
    kind = signal.kind.value
    metrics.EVENT_TIME_CLAMPED.labels(source="signals").inc(observed.clamped)
    metrics.ALERT_DUPLICATES_DROPPED.labels(kind=kind).inc(observed.duplicates)
    metrics.ALERT_LATE_DROPPED.labels(kind=kind).inc(len(observed.late))
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


def observe_batch(
    records: Sequence[RawRecord],
    events: list[SentimentEvent],
    letters: list[DeadLetter],
    inference_s: float,
) -> None:
    done = time.time()
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
        rejected=rejected_inputs(letters),
        inference_ms=round(inference_s * 1000, 2),
    )


EXIT_KAFKA_REFUSED = 78  # EX_CONFIG: a supervisor restarting at once would meet the same refusal


def run_worker(settings: Settings, scorer: SentimentModel) -> int:
    """Blocks until SIGTERM/SIGINT; Faust's worker then commits what was acknowledged. The
    brokers' refusal (credentials, certificate, ACLs) is one error line and a non-zero exit,
    not clients retrying in a loop."""
    configure_logging(settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    kafka = KafkaConnection.from_settings(settings)
    try:
        ensure_badbuzz_topics(settings, kafka)
        check_access(kafka, required_access(settings), [settings.app_id, settings.scoring_group_id])
    except KafkaAccessError as exc:
        log.error("kafka_refused", error_type=type(exc).__name__, error=str(exc), exc_info=exc)
        return EXIT_KAFKA_REFUSED
    app = build_worker(settings, scorer, kafka)
    worker = faust.Worker(app, loglevel=settings.log_level, override_logging=False, quiet=True)
    worker.spinner = None  # it writes terminal escape codes into the JSON log
    worker.execute_from_commandline()
    return 0
