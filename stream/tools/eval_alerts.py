"""Would the model's labels raise the bad-buzz alerts that human labels raise?

A labelled CSV (time, brand, text, human label) is replayed through the worker's own
pipeline (stream/pipeline/harness.py: scoring in the worker's batches, signals, watermarks,
detection), once scored by the model and once by a stand-in that answers the human label,
and the two sets of alerts are matched by scope and overlapping window. No Kafka, so a user
can check it on their own traffic in seconds.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import TypeAdapter

from schemas import Alert, AlertStatus, Label
from schemas.messages import Timestamp
from stream.pipeline.harness import run_pipeline
from stream.pipeline.labelshift import label_shift_from
from stream.pipeline.scoring import OneModelScorer, TextScorer
from stream.pipeline.signals import GLOBAL_SCOPE, scope_of
from stream.pipeline.steps import Pipeline
from stream.settings import Settings

TIMESTAMP = TypeAdapter(Timestamp)


@dataclass(frozen=True)
class LabelledTweet:
    t: float
    scope: str
    text: str
    label: str  # the human label: negative, neutral or positive
    tweet_id: str

    @property
    def human_negative(self) -> bool:
        return self.label == Label.NEGATIVE


@dataclass(frozen=True)
class Columns:
    time: str = "timestamp"
    brand: str = "brand"
    text: str = "text"
    label: str = "label"


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


def _label(value: str) -> str:
    label = value.strip().lower()
    return label if label in set(Label) else Label.NEUTRAL.value


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
                label=_label(row[columns.label]),
                tweet_id=str(n),
            )
            for n, row in enumerate(reader)
        ]
    return sorted(rows, key=lambda row: row.t)


class LabelScorer(OneModelScorer):
    """A scorer that answers each tweet's human label with certainty: the pipeline then runs
    as it does on the model's scores, so the human labels' alerts come from the same code."""

    version = "human-labels"
    threshold = 0.5
    classes = ("negative", "neutral", "positive")
    train_prior = np.full(3, 1 / 3)
    language = "any"  # a human label reads every language: all of them count
    languages = frozenset({language})

    def __init__(self, rows: Sequence[LabelledTweet]) -> None:
        self._labels: dict[str, deque[str]] = defaultdict(deque)
        for row in rows:
            self._labels[row.text].append(row.label)

    def predict_classes(
        self, texts: Sequence[str], langs: Sequence[str] | None = None
    ) -> np.ndarray:
        rows = np.zeros((len(texts), len(self.classes)))
        for n, text in enumerate(texts):
            labels = self._labels[text]
            label = labels.popleft() if len(labels) > 1 else labels[0]
            rows[n, self.classes.index(label)] = 1.0
        return rows


def payloads(rows: Sequence[LabelledTweet]) -> list[tuple[bytes, bytes]]:
    """The rows as `badbuzz replay --keep-timestamps` produces them: keyed by id."""
    return [
        (
            row.tweet_id.encode(),
            json.dumps(
                {
                    "id": row.tweet_id,
                    "text": row.text,
                    "brand": None if row.scope == GLOBAL_SCOPE else row.scope,
                    "created_at": datetime.fromtimestamp(row.t, tz=UTC).isoformat(),
                }
            ).encode(),
        )
        for row in rows
    ]


def replay_alerts(
    settings: Settings, scorer: TextScorer, rows: Sequence[LabelledTweet], *, shift: bool = True
) -> list[Alert]:
    """The raised alerts of `pipeline_alerts`."""
    alerts = pipeline_alerts(settings, scorer, rows, shift=shift)
    return [alert for alert in alerts if alert.status is AlertStatus.RAISED]


def pipeline_alerts(
    settings: Settings, scorer: TextScorer, rows: Sequence[LabelledTweet], *, shift: bool = True
) -> list[Alert]:
    """The alerts the worker would send for these rows: the worker's pipeline (score in its
    batches, signals, watermarks, detect) fed through the broker-less harness."""
    end = datetime.fromtimestamp(rows[-1].t if rows else 0, tz=UTC)
    pipeline = Pipeline(
        settings,
        scorer,
        lambda: end,
        label_shift_from(settings, scorer) if shift else None,
    )
    outputs = run_pipeline(pipeline, payloads(rows))
    return [Alert.model_validate(a) for a in outputs.get(settings.topic_alerts, [])]


def compare(reference: Iterable[Interval], candidate: Iterable[Interval]) -> AlertComparison:
    """A reference alert is caught when a candidate alert's window overlaps it in the same
    scope; a candidate alert is added when it overlaps none."""
    wanted, got = list(reference), list(candidate)
    caught = sum(any(r.overlaps(c) for c in got) for r in wanted)
    added = sum(not any(c.overlaps(r) for r in wanted) for c in got)
    return AlertComparison(len(wanted), caught, len(got), added)


def evaluate(
    settings: Settings, scorer: TextScorer, rows: Sequence[LabelledTweet]
) -> tuple[AlertComparison, list[Alert], list[Alert]]:
    """The comparison, then the human labels' alerts and the model's."""
    human = replay_alerts(settings, LabelScorer(rows), rows, shift=False)
    model = replay_alerts(settings, scorer, rows)
    return compare(map(Interval.of, human), map(Interval.of, model)), human, model
