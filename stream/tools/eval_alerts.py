"""Would the model's labels raise the bad-buzz alerts that human labels raise?

A labelled CSV (time, brand, text, human label) is replayed in event time through the same
detector the worker runs, once with the human labels and once with the model's, and the
two sets of alerts are matched by scope and overlapping window. No Kafka: the detector is
pure, so a user can check it on their own traffic in seconds.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import TypeAdapter

from schemas import Alert, AlertStatus, Label
from schemas.messages import Timestamp
from stream.alerts.detector import Detector, ScopeState
from stream.alerts.windows import Observation
from stream.pipeline.labelshift import LabelShift
from stream.pipeline.scoring import TextScorer, decide, score_texts
from stream.pipeline.signals import scope_of

TIMESTAMP = TypeAdapter(Timestamp)


@dataclass(frozen=True)
class LabelledTweet:
    t: float
    scope: str
    text: str
    human_negative: bool


@dataclass(frozen=True)
class Columns:
    time: str = "timestamp"
    brand: str = "brand"
    text: str = "text"
    label: str = "label"
    negative: str = "negative"


@dataclass(frozen=True)
class Interval:
    """Where and when an alert was open: its scope and its window."""

    scope: str
    start: float
    end: float

    @classmethod
    def of(cls, alert: Alert) -> Interval:
        return cls(alert.scope, alert.window_start.timestamp(), alert.window_end.timestamp())

    def overlaps(self, other: Interval) -> bool:
        return self.scope == other.scope and self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class AlertComparison:
    reference: int
    caught: int
    candidate: int
    added: int

    @property
    def recall(self) -> float:
        return self.caught / self.reference if self.reference else 1.0

    @property
    def precision(self) -> float:
        return (self.candidate - self.added) / self.candidate if self.candidate else 1.0


def read_labelled_csv(path: Path, columns: Columns) -> list[LabelledTweet]:
    """Rows in event-time order; a blank brand counts under the global scope, as live."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        wanted = (columns.time, columns.brand, columns.text, columns.label)
        missing = [c for c in wanted if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path} has no column(s) {', '.join(map(repr, missing))}")
        rows = [
            LabelledTweet(
                t=TIMESTAMP.validate_python(row[columns.time]).timestamp(),
                scope=scope_of(row[columns.brand] or None),
                text=row[columns.text] or "",
                human_negative=row[columns.label].strip().lower() == columns.negative.lower(),
            )
            for row in reader
        ]
    return sorted(rows, key=lambda row: row.t)


def model_negatives(
    scorer: TextScorer, rows: Sequence[LabelledTweet], shift: LabelShift | None, batch_size: int
) -> list[bool]:
    """The worker's labels: batches in event-time order, each joining the live-prior
    estimate before it is corrected, as in `stream.pipeline.scoring.process_batch`; each
    tweet read by its language's model (a language no model reads: the bundle's own)."""
    negatives: list[bool] = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        texts = [r.text for r in batch]
        langs = scorer.languages_of(texts, [None] * len(texts))
        _, corrected, _ = score_texts(scorer, texts, [r.scope for r in batch], shift, langs)
        negatives += [
            label is Label.NEGATIVE for label in decide(scorer.classes, corrected, scorer.threshold)
        ]
    return negatives


def replay_alerts(
    detector: Detector,
    rows: Sequence[LabelledTweet],
    negatives: Sequence[bool],
    batch_s: float = 1.0,
) -> list[Alert]:
    """Raised alerts, feeding each scope's tweets in event-time batches of `batch_s` seconds
    (the worker feeds a scope once per micro-batch)."""
    batches: dict[tuple[str, int], list[Observation]] = defaultdict(list)
    for n, (row, negative) in enumerate(zip(rows, negatives, strict=True)):
        observation = Observation(row.t, negative, str(n), row.text if negative else "")
        batches[(row.scope, int(row.t // batch_s))].append(observation)
    states: dict[str, ScopeState] = defaultdict(ScopeState)
    raised: list[Alert] = []
    for (scope, _), observations in sorted(batches.items(), key=lambda item: item[0][1]):
        at = datetime.fromtimestamp(observations[-1].t, tz=UTC)
        alerts = detector.observe(states[scope], scope, observations, at).alerts
        raised += [alert for alert in alerts if alert.status is AlertStatus.RAISED]
    return raised


def compare(reference: Iterable[Interval], candidate: Iterable[Interval]) -> AlertComparison:
    """A reference alert is caught when a candidate alert's window overlaps it in the same
    scope; a candidate alert is added when it overlaps none."""
    wanted, got = list(reference), list(candidate)
    caught = sum(any(r.overlaps(c) for c in got) for r in wanted)
    added = sum(not any(c.overlaps(r) for r in wanted) for c in got)
    return AlertComparison(len(wanted), caught, len(got), added)


def evaluate(
    detector: Detector, rows: Sequence[LabelledTweet], model_negative: Sequence[bool]
) -> tuple[AlertComparison, list[Alert], list[Alert]]:
    """The comparison, then the human labels' alerts and the model's."""
    human = replay_alerts(detector, rows, [row.human_negative for row in rows])
    model = replay_alerts(detector, rows, model_negative)
    return compare(map(Interval.of, human), map(Interval.of, model)), human, model
