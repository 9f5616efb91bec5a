"""The worker's three steps as one object: Kafka records in, messages to produce out.

scoring:  tweets.raw -> tweets.sentiment, tweets.deadletter, <app>-signals (by scope's hash)
feedback: tweets.feedback -> tweets.feedback.labelled, tweets.deadletter, <app>-signals
detect:   <app>-signals -> <app>-alert-state (written first), alerts.badbuzz

Nothing here talks to Kafka or counts metrics: the agents (stream/agents/) deliver what a step
returns and observe it; the harness (stream/pipeline/harness.py) runs the steps on a list of
messages without a broker.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from schemas import Alert, AlertKind, DeadLetter, Label
from stream.alerts.detector import Admitted, ScopeState, detectors_from, window_spec_from
from stream.alerts.store import StateStore
from stream.alerts.watermarks import FEEDBACK_SOURCE, InputClock, Mark, ScoredEventTimes, raw_source
from stream.models.slot import Serving, ServingModels
from stream.pipeline.feedback import FeedbackOutcome, labelled_example, process_feedback
from stream.pipeline.labelshift import LabelShift, label_shift_from
from stream.pipeline.scoring import (
    BatchOutcome,
    TextScorer,
    corrected_to_live_prior,
    decide,
    live_priors,
    process_batch,
    served_rows,
)
from stream.pipeline.signals import (
    GLOBAL_SCOPE,
    Signal,
    SignalBatch,
    routed,
    scope_of,
    sentiment_signals,
    signal_partition,
)
from stream.records import Outgoing, RawRecord
from stream.settings import Settings


@dataclass
class Scored:
    outcome: BatchOutcome
    inference_s: float
    messages: list[Outgoing]
    version: str  # of the bundle that scored the batch


@dataclass
class FeedbackRecorded:
    outcome: FeedbackOutcome
    messages: list[Outgoing]


@dataclass
class Predicted:
    """Texts scored as the stream would label them, without joining the live estimate."""

    version: str  # of the bundle (a swap may land while /predict answers)
    threshold: float
    classes: tuple[str, ...]
    probabilities: list[np.ndarray | None]  # per text, corrected to `prior`; None: not scored
    labels: list[Label]
    langs: list[str]
    versions: list[str]  # of the model that read each text
    prior: np.ndarray


@dataclass
class Detected:
    admitted: list[tuple[AlertKind, str, Admitted]]  # per scope the signals touched
    alerts: list[Alert]
    messages: list[Outgoing]  # the changed states first, then the alerts


CLOCK_KEY = b"\x00input-clock"  # beside the scopes' states: the partition's watermarks


@dataclass
class AlertPartition:
    """One signals partition's alert state as this worker holds it in one group generation:
    the input clock, the last boundary evaluated, and every scope's state, parsed once."""

    store: StateStore
    generation: int
    clock: InputClock
    horizon: int | None
    states: dict[bytes, ScopeState]
    pending: set[bytes] = field(default_factory=set)

    @classmethod
    def read(cls, store: StateStore, stored: dict[bytes, bytes], generation: int) -> AlertPartition:
        meta = json.loads(stored[CLOCK_KEY]) if CLOCK_KEY in stored else {}
        states = {
            key: ScopeState.from_dict(json.loads(value))
            for key, value in stored.items()
            if key != CLOCK_KEY
        }
        return cls(
            store,
            generation,
            InputClock.from_dict(meta.get("clock", {})),
            meta.get("horizon"),
            states,
            set(states),  # which are pending is found at their first evaluation
        )

    def meta(self) -> bytes:
        return json.dumps({"clock": self.clock.to_dict(), "horizon": self.horizon}).encode()


def scope_key(kind: AlertKind, scope: str) -> bytes:
    return f"{kind.value}|{scope}".encode()


def parse_scope_key(key: bytes) -> tuple[AlertKind, str]:
    kind, scope = key.decode().split("|", 1)
    return AlertKind(kind), scope


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        scorer: TextScorer,
        clock: Callable[[], datetime],
        shift: LabelShift | None = None,
        topology: Topology | None = None,
    ) -> None:
        self.settings = settings
        self.models = ServingModels(Serving(scorer, shift), settings.shadow_every)
        self.clock = clock
        self.topology = topology or Topology(settings.topic_partitions, settings.topic_partitions)
        self.detectors = detectors_from(settings)
        self._spec = window_spec_from(settings)
        self._scored_times = ScoredEventTimes()
        self._reported_times = ScoredEventTimes()
        self._partitions: dict[int, AlertPartition] = {}

    @property
    def scorer(self) -> TextScorer:
        """The champion now (/predict, the status page); a batch keeps the one it started with."""
        return self.models.current().model

    @property
    def shift(self) -> LabelShift | None:
        return self.models.current().shift

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        scorer: TextScorer,
        clock: Callable[[], datetime],
        topology: Topology | None = None,
    ) -> Pipeline:
        return cls(settings, scorer, clock, label_shift_from(settings, scorer), topology)

    def score(
        self,
        records: Sequence[RawRecord],
        lag: Mapping[int, int] | None = None,
        serving: Serving | None = None,
    ) -> Scored:
        """A batch's events, dead letters and signals, for callers that score one batch at a
        time (the harness): `score_events` then `signal_messages`."""
        scored = self.score_events(records, serving)
        scored.messages += self.signal_messages(scored.outcome, lag)
        return scored

    def score_events(self, records: Sequence[RawRecord], serving: Serving | None = None) -> Scored:
        """Validate and score in one model call: the events and dead letters to send.
        `serving`: the model the batch took when it was read (stream/models/slot.py), else
        the champion now. Batches may be scored side by side."""
        started = time.perf_counter()
        serving = serving or self.models.current()
        outcome = process_batch(
            records,
            serving.model,
            serving.shift,
            max_payload_bytes=self.settings.max_payload_bytes,
            deadletter_payload_bytes=self.settings.deadletter_payload_bytes,
            now=self.clock(),
            event_time_max_ahead_s=self.settings.event_time_max_ahead_s,
        )
        inference_s = time.perf_counter() - started
        topic = self.settings.topic_sentiment
        messages = [
            Outgoing.of(topic, event.tweet_id, event, (record,))
            for event, record in zip(outcome.events, outcome.inputs, strict=True)
        ] + self.dead_letters(outcome.dead_letters)
        return Scored(outcome, inference_s, messages, serving.model.version)

    def signal_messages(
        self, outcome: BatchOutcome, lag: Mapping[int, int] | None = None
    ) -> list[Outgoing]:
        """A scored batch's signals, with each raw partition's watermark once it is counted.
        Called in read order, one batch after the other: a batch's marks must not have seen
        a later batch's events, or the detect step would find those late. `lag`: what was
        left to read of each raw partition when the batch was read (0: caught up, so idle)."""
        for event, record in zip(outcome.events, outcome.inputs, strict=True):
            self._scored_times.observe(raw_source(record.partition), event.event_time.timestamp())
        lag = lag or {}
        marks = self._scored_times.marks(
            map(raw_source, lag), {raw_source(p) for p, left in lag.items() if left == 0}
        )
        signals = sentiment_signals(
            outcome.events, self.settings.alert_example_chars, self.settings.alert_neutral_weight
        )
        by_partition: dict[int, list[RawRecord]] = {}
        for event, record in zip(outcome.events, outcome.inputs, strict=True):
            partition = signal_partition(scope_of(event.brand), self.topology.signal_partitions)
            by_partition.setdefault(partition, []).append(record)
        return self.signals(signals, marks, self.clock(), by_partition)

    def predict(
        self, texts: Sequence[str], claimed: Sequence[str | None] | None = None
    ) -> Predicted:
        """For /predict: the stream's language and decision on the global live prior.
        Requests do not feed the prior estimate, so a caller cannot move the labels of real
        traffic. `claimed`: each text's language if the caller knows it, as a producer's
        `lang`."""
        scorer = self.scorer
        langs = scorer.languages_of(texts, claimed or [None] * len(texts))
        served = served_rows(scorer, langs)
        rows: list[np.ndarray | None] = [None] * len(texts)
        labels = [Label.UNSUPPORTED_LANGUAGE] * len(texts)
        if served:
            posteriors = scorer.predict_classes(
                [texts[n] for n in served], [langs[n] for n in served]
            )
            scopes = [GLOBAL_SCOPE] * len(served)
            corrected, priors = corrected_to_live_prior(scorer, scopes, posteriors, self.shift)
            decided = decide(scorer.classes, corrected, scorer.threshold)
            for n, row, label in zip(served, corrected, decided, strict=True):
                rows[n], labels[n] = row, label
        else:
            priors = live_priors(scorer, [GLOBAL_SCOPE], self.shift)
        versions = [scorer.version_of(lang) for lang in langs]
        return Predicted(
            scorer.version,
            scorer.threshold,
            tuple(scorer.classes),
            rows,
            labels,
            langs,
            versions,
            priors[GLOBAL_SCOPE],
        )

    def record_feedback(self, records: Sequence[RawRecord]) -> FeedbackRecorded:
        """Valid reports become training rows and feedback signals; users' corrected labels
        from a known source also feed the label-shift estimate, up to its bound."""
        now = self.clock()
        outcome = process_feedback(
            records,
            max_payload_bytes=self.settings.max_payload_bytes,
            deadletter_payload_bytes=self.settings.deadletter_payload_bytes,
            now=now,
            event_time_max_ahead_s=self.settings.event_time_max_ahead_s,
        )
        shift = self.shift
        if shift is not None:
            shift.observe_labels(outcome.known_labels())
        self.models.judge(outcome.labelled_tweets())
        examples = [
            Outgoing(
                self.settings.topic_feedback_labelled,
                report.tweet_id.encode(),
                json.dumps(example).encode(),
            )
            for _, report in outcome.accepted
            if (example := labelled_example(report)) is not None
        ]
        signals: list[Outgoing] = []
        if outcome.observations:
            for _, observation in outcome.observations:
                self._reported_times.observe(FEEDBACK_SOURCE, observation.t)
            marks = self._reported_times.marks([], {FEEDBACK_SOURCE})  # a side input: idle
            signals = self.signals(
                outcome.signals(), {FEEDBACK_SOURCE: marks[FEEDBACK_SOURCE]}, now
            )
        messages = examples + self.dead_letters(outcome.dead_letters) + signals
        return FeedbackRecorded(outcome, messages)

    async def detect(
        self, records: Sequence[RawRecord], generations: Sequence[int], store: StateStore
    ) -> Detected:
        """Apply signal messages in order, per signals partition: count each message's
        observations, move the partition's input clock on with its watermarks, then decide
        every window whose end the watermark (less the lateness) has passed, boundary by
        boundary. Each changed scope is written once: its new state is to be delivered
        before the signals are committed, then any alert raised or resolved.
        `generations`: each record's consumer-group generation, in which its partition's
        state is current."""
        now = self.clock()
        admitted: dict[bytes, tuple[AlertKind, str, Admitted]] = {}
        alerts: list[Alert] = []
        changed: dict[int, set[bytes]] = {}
        for record, generation in zip(records, generations, strict=True):
            part = await self._partition(store, record.partition, generation)
            batch = SignalBatch.decode(record.value or b"")
            dirty = changed.setdefault(record.partition, set())
            for signal in batch.signals:
                key = scope_key(signal.kind, signal.scope)
                state = part.states.setdefault(key, ScopeState())
                outcome = self.detectors[signal.kind].admit(
                    state, signal.observations, part.horizon, now
                )
                _merge(admitted, key, signal.kind, signal.scope, outcome)
                part.pending.add(key)
                dirty.add(key)
            part.clock.update(batch.marks, batch.raw_partitions, batch.sent_at)
            alerts += self._evaluate(part, dirty, now)
        messages = []
        for partition, keys in changed.items():
            part = self._partitions[partition]
            for key in keys:
                value = json.dumps(part.states[key].to_dict(), ensure_ascii=False).encode()
                messages.append(store.put(partition, key, value))
            messages.append(store.put(partition, CLOCK_KEY, part.meta()))
        topic = self.settings.topic_alerts
        messages += [Outgoing.of(topic, alert.scope, alert) for alert in alerts]
        return Detected(list(admitted.values()), alerts, messages)

    async def _partition(
        self, store: StateStore, partition: int, generation: int
    ) -> AlertPartition:
        part = self._partitions.get(partition)
        if part is None or part.generation != generation or part.store is not store:
            stored = await store.partition(partition, generation)
            part = self._partitions[partition] = AlertPartition.read(store, stored, generation)
        return part

    def _evaluate(self, part: AlertPartition, dirty: set[bytes], now: datetime) -> list[Alert]:
        """Windows up to the partition's new horizon, for the scopes that have any to decide;
        the alerts in event-time order."""
        watermark = part.clock.watermark(self.settings.alert_idle_grace_s)
        if watermark is None:
            return []
        upto = self._spec.bucket_of(watermark - self._spec.lateness_s)
        if part.horizon is not None and upto <= part.horizon:
            return []
        alerts: list[Alert] = []
        for key in sorted(part.pending):
            kind, scope = parse_scope_key(key)
            detector, state = self.detectors[kind], part.states[key]
            was_active = state.alert.active
            raised = detector.evaluate(state, scope, upto, now)
            if raised or state.alert.active != was_active:
                dirty.add(key)
            alerts += raised
            if not detector.needs_evaluation(state):
                part.pending.discard(key)
        part.horizon = upto
        return sorted(alerts, key=lambda alert: (alert.window_end, alert.scope))

    def dead_letters(self, letters: Sequence[DeadLetter]) -> list[Outgoing]:
        return [Outgoing.of(self.settings.topic_deadletter, None, letter) for letter in letters]

    def signals(
        self,
        signals: Sequence[Signal],
        marks: Mapping[str, Mark],
        now: datetime,
        inputs: Mapping[int, list[RawRecord]] | None = None,
    ) -> list[Outgoing]:
        """`inputs`: the records each signals partition's observations were made from."""
        topic = self.settings.topic_signals
        return [
            Outgoing(
                topic,
                None,
                value,
                partition=partition,
                inputs=tuple((inputs or {}).get(partition, ())),
            )
            for partition, value in routed(
                signals,
                marks,
                raw_partitions=self.topology.raw_partitions,
                sent_at=now.timestamp(),
                partitions=self.topology.signal_partitions,
                # under the worker's own output limit too, with room for the envelope
                max_bytes=min(
                    self.settings.alert_signal_max_bytes, self.settings.max_output_bytes // 2
                ),
            )
        ]


@dataclass(frozen=True)
class Topology:
    """Partition counts the steps route by: the raw topic's (a watermark per partition) and
    the signals topic's (a scope's partition)."""

    raw_partitions: int
    signal_partitions: int


def _merge(
    admitted: dict[bytes, tuple[AlertKind, str, Admitted]],
    key: bytes,
    kind: AlertKind,
    scope: str,
    outcome: Admitted,
) -> None:
    if key not in admitted:
        admitted[key] = (kind, scope, outcome)
        return
    total = admitted[key][2]
    total.counted += outcome.counted
    total.duplicates += outcome.duplicates
    total.clamped += outcome.clamped
    total.late += outcome.late
