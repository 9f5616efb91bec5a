"""tweets.raw: the scoring step as the librdkafka consumer thread's synchronous batch handler
(stream/kafka/scoring/), and what is counted once a batch's outputs are delivered."""

from __future__ import annotations

import itertools
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from functools import partial

import structlog

from model.language import OTHER, metric_language
from schemas import DeadLetter, Label, SentimentEvent
from stream.agents.handling import Handling, rejected_inputs
from stream.kafka.connection import KafkaConnection
from stream.kafka.offsets import Partition
from stream.kafka.scoring import BatchWork, HandledBatch, ScoringConfig, ScoringConsumer
from stream.models import metrics as model_metrics
from stream.models.slot import Serving
from stream.observability import metrics
from stream.observability.drift import DriftMonitor
from stream.pipeline.labelshift import LabelShift
from stream.pipeline.scoring import BatchOutcome
from stream.pipeline.steps import Scored
from stream.records import Outgoing, RawRecord, UndecodableBatch

log = structlog.get_logger(__name__)
EXIT_SOFTWARE = 70  # sysexits.h: an internal error, for the supervisor to restart


class ScoringObserver:
    """Metrics, drift and the status page's throughput, per delivered batch."""

    def __init__(self, handling: Handling) -> None:
        settings, pipeline = handling.settings, handling.pipeline
        self._handling = handling
        self._models = pipeline.models
        self._oov_every = settings.drift_oov_every
        self._drift_window = settings.drift_window
        self._drift_version = ""
        self._batches = itertools.count()
        model_metrics.export_serving(pipeline.models)
        export_label_prior(lambda: pipeline.shift)

    def delivered(self, records: Sequence[RawRecord], undecodable: int, scored: Scored) -> None:
        outcome = scored.outcome
        metrics.TWEETS_CONSUMED.inc(len(records) + undecodable)
        observe_batch(records, outcome.events, outcome.dead_letters, scored.inference_s)
        model_metrics.observe_champion(scored.version, outcome.events, scored.inference_s)
        self._handling.count_dead_letters(outcome.dead_letters)
        self._handling.status.record_batch(len(records))
        metrics.EVENT_TIME_CLAMPED.labels(source="tweets").inc(outcome.clamped)
        self._observe_drift(outcome)

    def _observe_drift(self, outcome: BatchOutcome) -> None:
        """Drift belongs to a model version: after a swap it starts anew against the new
        bundle's reference, and the old model's last batches are left out of it. It is
        measured on the tweets the bundle's own model read, like its reference histogram."""
        model = self._models.current().model
        own = [event for event in outcome.events if event.lang == model.language]
        if not own or own[0].model_version != model.version:
            return
        if self._drift_version != model.version:
            self._drift = DriftMonitor(model.metadata["reference_histogram"], self._drift_window)
            self._drift_version = model.version
        negative = [event.label is Label.NEGATIVE for event in own]
        self._drift.observe(outcome.model_p_positive, negative)
        metrics.DRIFT_PSI.set(self._drift.psi)
        metrics.PREDICTED_NEGATIVE_SHARE.set(self._drift.negative_share)
        if next(self._batches) % self._oov_every == 0:
            texts = [event.text for event in own]
            metrics.OOV_TOKEN_RATE.set(model.oov_rate(texts))


def export_label_prior(current: Callable[[], LabelShift | None]) -> None:
    """The live prior is read when Prometheus scrapes, not copied into gauges after every
    scoring and feedback batch; `current` is the served model's, whichever it is then."""
    shift = current()
    if shift is None:
        return
    for index, name in enumerate(shift.classes):
        metrics.LABEL_PRIOR.labels(**{"class": name}).set_function(
            lambda index=index: prior_share(current(), index)
        )
    metrics.LABEL_PRIOR_SCOPES.set_function(lambda: scopes_with_own_prior(current()))


def prior_share(shift: LabelShift | None, index: int) -> float:
    if shift is None or index >= len(shift.classes):
        return float("nan")
    return float(shift.overall.prior[index])


def scopes_with_own_prior(shift: LabelShift | None) -> int:
    return 0 if shift is None else shift.scopes_with_own_prior


class RawBatchHandler:
    """tweets.raw's batch handler, synchronous, with no event loop. Called on the consumer's
    thread in read order, a batch takes its model there (stream/models/slot.py); the work
    returned handles it, maybe on a handler thread."""

    def __init__(
        self,
        handling: Handling,
        observer: ScoringObserver,
        lag: Callable[[], Mapping[Partition, int]],
    ) -> None:
        self._handling = handling
        self._pipeline = handling.pipeline
        self._observer = observer
        self._lag = lag

    def __call__(self, records: list[RawRecord], undecodable: list[UndecodableBatch]) -> BatchWork:
        lag = {partition: left for (_, partition), left in self._lag().items()}
        return partial(self.handle, self._pipeline.models.current(), lag, records, undecodable)

    def handle(
        self,
        serving: Serving,
        lag: Mapping[int, int],
        records: list[RawRecord],
        undecodable: list[UndecodableBatch],
    ) -> HandledBatch:
        """One batch: what to produce, and what to count once the broker has it. A batch
        whose scoring keeps raising is scored input by input, and the inputs that still raise
        are dead-lettered. Its signals are made in read order (`HandledBatch.in_order`)."""
        handling, pipeline = self._handling, self._pipeline
        parts: list[Scored] = []
        letters = (
            handling.isolate(
                "score", records, lambda batch: parts.append(pipeline.score_events(batch, serving))
            )
            if records
            else []
        )
        letters += [handling.undecodable_letter(batch) for batch in undecodable]
        metrics.MESSAGES_CONSUMED.labels(topic=handling.settings.topic_raw).inc(len(undecodable))
        scored = merged(parts, serving.version)

        def signals() -> list[Outgoing]:
            return handling.within_limit(pipeline.signal_messages(scored.outcome, lag))

        if not records and not undecodable:  # an idle tick: the watermarks alone, so
            # windows are decided as the clock moves on; nothing consumed, nothing to count
            return HandledBatch([], in_order=signals)
        pipeline.models.offer_shadow(serving, scored.outcome)

        def delivered() -> None:
            self._observer.delivered(records, len(undecodable), scored)
            handling.count_dead_letters(letters)

        # every output through the consumer's producer: in exactly-once mode, in the batch's
        # transaction with its offsets
        outgoing = handling.within_limit(scored.messages) + pipeline.dead_letters(letters)
        return HandledBatch(outgoing, delivered, signals)


def scoring_consumer(
    kafka: KafkaConnection, handling: Handling, observer: ScoringObserver
) -> ScoringConsumer:
    consumer = ScoringConsumer(
        ScoringConfig.from_settings(handling.settings, kafka),
        RawBatchHandler(handling, observer, lambda: consumer.lag),
        on_failure=exit_for_a_restart,
        on_rejected=handling.rejected_output_letters,
    )
    return consumer


def exit_for_a_restart(error: BaseException) -> None:
    """The consumer's client is in a fatal state (e.g. fenced, or its credentials revoked):
    nothing past the delivered outputs is committed, so a supervisor's restart loses nothing,
    and a worker that stayed up without scoring would only look healthy."""
    log.error("worker_exiting", reason="scoring consumer failed", error=str(error))
    os._exit(EXIT_SOFTWARE)


def merged(parts: Sequence[Scored], version: str) -> Scored:
    """A batch scored in one piece, or input by input after a failure, as one result, by
    the bundle `version` it took."""
    if len(parts) == 1:
        return parts[0]
    outcomes = [part.outcome for part in parts]
    return Scored(
        BatchOutcome(
            events=[e for outcome in outcomes for e in outcome.events],
            dead_letters=[d for outcome in outcomes for d in outcome.dead_letters],
            clamped=sum(outcome.clamped for outcome in outcomes),
            model_p_positive=[p for outcome in outcomes for p in outcome.model_p_positive],
            inputs=[r for outcome in outcomes for r in outcome.inputs],
        ),
        inference_s=sum(part.inference_s for part in parts),
        messages=[message for part in parts for message in part.messages],
        version=version,
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
    # counted per batch, one increment a label: this runs on the consumer's thread
    scored = Counter(event.label.value for event in events if event.scored)  # flagged: not here
    for label, count in scored.items():
        metrics.TWEETS_SCORED.labels(label=label).inc(count)
    by_language = Counter(
        (metric_language(event.lang or OTHER), str(event.scored).lower()) for event in events
    )
    for (lang, was_scored), count in by_language.items():
        metrics.TWEETS_BY_LANGUAGE.labels(lang=lang, scored=was_scored).inc(count)
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
