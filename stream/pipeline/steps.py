"""The worker's three steps as one object: Kafka records in, messages to produce out.

scoring:  tweets.raw -> tweets.sentiment, tweets.deadletter, <app>-signals (keyed by scope)
feedback: tweets.feedback -> tweets.feedback.labelled, tweets.deadletter, <app>-signals
detect:   <app>-signals -> <app>-alert-state (written first), alerts.badbuzz

Nothing here talks to Kafka or counts metrics: the agents (stream/agents/) deliver what a step
returns and observe it; the harness (stream/pipeline/harness.py) runs the steps on a list of
messages without a broker.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from schemas import AlertKind, DeadLetter, Label
from stream.alerts.detector import Detector, Observed, ScopeState, detectors_from
from stream.alerts.store import StateStore
from stream.pipeline.feedback import FeedbackOutcome, labelled_example, process_feedback
from stream.pipeline.labelshift import LabelShift, label_shift_from
from stream.pipeline.scoring import (
    BatchOutcome,
    TextScorer,
    corrected_to_live_prior,
    decide,
    process_batch,
)
from stream.pipeline.signals import GLOBAL_SCOPE, Signal, scope_of, sentiment_signals
from stream.records import Outgoing, RawRecord
from stream.settings import Settings


@dataclass
class Scored:
    outcome: BatchOutcome
    inference_s: float
    messages: list[Outgoing]


@dataclass
class FeedbackRecorded:
    outcome: FeedbackOutcome
    messages: list[Outgoing]


@dataclass
class Predicted:
    """Texts scored as the stream would label them, without joining the live estimate."""

    classes: tuple[str, ...]
    probabilities: np.ndarray  # (n, k), corrected to `prior`
    labels: list[Label]
    prior: np.ndarray


@dataclass
class Detected:
    observed: list[tuple[Signal, Observed]]
    messages: list[Outgoing]  # each touched scope's state write first, then the alerts


class ParsedStates:
    """The scope states this worker wrote last, parsed: a state is read and written on every
    signal, and parsing its JSON each time cost more than the detection. A stored value that is
    not the one remembered (read back after a rebalance) is parsed again."""

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._states: OrderedDict[tuple[int, bytes], tuple[bytes, ScopeState]] = OrderedDict()

    def parsed(self, partition: int, key: bytes, stored: bytes | None) -> ScopeState:
        remembered = self._states.get((partition, key))
        if remembered is not None and stored is not None and remembered[0] is stored:
            return remembered[1]
        return ScopeState.from_dict(json.loads(stored) if stored else None)

    def remember(self, partition: int, key: bytes, written: bytes, state: ScopeState) -> None:
        self._states[(partition, key)] = (written, state)
        self._states.move_to_end((partition, key))
        if len(self._states) > self._capacity:
            self._states.popitem(last=False)


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        scorer: TextScorer,
        clock: Callable[[], datetime],
        shift: LabelShift | None = None,
        detectors: dict[AlertKind, Detector] | None = None,
    ) -> None:
        self.settings = settings
        self.scorer = scorer
        self.clock = clock
        self.shift = shift
        self.detectors = detectors if detectors is not None else detectors_from(settings)
        self._states = ParsedStates()

    @classmethod
    def from_settings(
        cls, settings: Settings, scorer: TextScorer, clock: Callable[[], datetime]
    ) -> Pipeline:
        return cls(settings, scorer, clock, label_shift_from(settings, scorer))

    def score(self, records: Sequence[RawRecord]) -> Scored:
        """Validate, score in one model call, and say what to send: events, dead letters, and
        one signal per scope for the alert windows."""
        started = time.perf_counter()
        outcome = process_batch(
            records,
            self.scorer,
            self.shift,
            max_payload_bytes=self.settings.max_payload_bytes,
            deadletter_payload_bytes=self.settings.deadletter_payload_bytes,
            now=self.clock(),
            event_time_max_ahead_s=self.settings.event_time_max_ahead_s,
        )
        inference_s = time.perf_counter() - started
        topic = self.settings.topic_sentiment
        by_scope: dict[str, list[RawRecord]] = {}
        for event, record in zip(outcome.events, outcome.inputs, strict=True):
            by_scope.setdefault(scope_of(event.brand), []).append(record)
        messages = (
            [
                Outgoing.of(topic, event.tweet_id, event, (record,))
                for event, record in zip(outcome.events, outcome.inputs, strict=True)
            ]
            + self.dead_letters(outcome.dead_letters)
            + self.signals(sentiment_signals(outcome.events), by_scope)
        )
        return Scored(outcome, inference_s, messages)

    def predict(self, texts: Sequence[str]) -> Predicted:
        """For /predict: the stream's decision on the global live prior. Requests do not feed
        the prior estimate, so a caller cannot move the labels of real traffic."""
        posteriors = self.scorer.predict_classes(texts)
        scopes = [GLOBAL_SCOPE] * len(texts)
        corrected, priors = corrected_to_live_prior(self.scorer, scopes, posteriors, self.shift)
        labels = decide(self.scorer.classes, corrected, self.scorer.threshold)
        return Predicted(tuple(self.scorer.classes), corrected, labels, priors[GLOBAL_SCOPE])

    def record_feedback(self, records: Sequence[RawRecord]) -> FeedbackRecorded:
        """Valid reports become training rows and feedback signals; users' corrected labels
        from a known source also feed the label-shift estimate, up to its bound."""
        outcome = process_feedback(
            records,
            max_payload_bytes=self.settings.max_payload_bytes,
            deadletter_payload_bytes=self.settings.deadletter_payload_bytes,
            now=self.clock(),
            event_time_max_ahead_s=self.settings.event_time_max_ahead_s,
        )
        if self.shift is not None:
            self.shift.observe_labels(outcome.known_labels())
        examples = [
            Outgoing(
                self.settings.topic_feedback_labelled,
                report.tweet_id.encode(),
                json.dumps(example).encode(),
            )
            for _, report in outcome.accepted
            if (example := labelled_example(report)) is not None
        ]
        messages = (
            examples + self.dead_letters(outcome.dead_letters) + self.signals(outcome.signals())
        )
        return FeedbackRecorded(outcome, messages)

    async def detect(
        self, records: Sequence[RawRecord], generations: Sequence[int], store: StateStore
    ) -> Detected:
        """Apply a batch of signals to their scopes' windows, each scope's observations
        together, in event-time order. Each scope touched is written once: its new state is
        to be delivered before the signals are committed, then any alert raised or resolved.
        `generations`: each record's consumer-group generation, in which its partition's state
        is current."""
        by_scope: dict[tuple[int, bytes], list[Signal]] = {}
        generation_of: dict[int, int] = {}
        for record, generation in zip(records, generations, strict=True):
            signal = Signal.decode(record.value or b"")
            key = f"{signal.kind.value}|{signal.scope}".encode()
            by_scope.setdefault((record.partition, key), []).append(signal)
            generation_of[record.partition] = max(
                generation, generation_of.get(record.partition, 0)
            )
        touched: dict[tuple[int, bytes], ScopeState] = {}
        observed: list[tuple[Signal, Observed]] = []
        alerts: list[Outgoing] = []
        for (partition, key), signals in by_scope.items():
            states = await store.partition(partition, generation_of[partition])
            state = self._states.parsed(partition, key, states.get(key))
            first = signals[0]
            outcome = self.detectors[first.kind].observe(
                state,
                first.scope,
                [o for signal in signals for o in signal.observations],
                self.clock(),
            )
            touched[(partition, key)] = state
            observed.append((first, outcome))
            topic = self.settings.topic_alerts
            alerts += [Outgoing.of(topic, alert.scope, alert) for alert in outcome.alerts]
        writes = []
        for (partition, key), state in touched.items():
            written = json.dumps(state.to_dict()).encode()
            writes.append(store.put(partition, key, written))
            self._states.remember(partition, key, written, state)
        return Detected(observed, writes + alerts)

    def dead_letters(self, letters: Sequence[DeadLetter]) -> list[Outgoing]:
        return [Outgoing.of(self.settings.topic_deadletter, None, letter) for letter in letters]

    def signals(
        self, batch: Sequence[Signal], inputs: dict[str, list[RawRecord]] | None = None
    ) -> list[Outgoing]:
        """`inputs`: the records each scope's signals were made from."""
        topic = self.settings.topic_signals
        return [
            Outgoing(
                topic,
                signal.scope.encode(),
                signal.encode(),
                inputs=tuple((inputs or {}).get(signal.scope, ())),
            )
            for signal in batch
        ]
