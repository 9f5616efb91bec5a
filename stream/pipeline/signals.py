"""Observations for the alert windows and the input watermarks, on an internal topic.

Sentiment events are keyed by tweet id, so one scope's tweets are spread over partitions
and workers. A batch's observations are routed by scope to a signals partition (a scope's
whole traffic meets in one partition of the alert state), as one message per signals
partition, split at `alert_signal_max_bytes`; the batch's watermarks go to every signals
partition, in the last message to each (a watermark-only message where no scope lands), as
Flink broadcasts watermarks downstream.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas import AlertKind, SentimentEvent
from stream.alerts.measure import COMPLAINT_EXAMPLE_WEIGHT, complaint_weight
from stream.alerts.watermarks import Mark
from stream.alerts.windows import Observation

GLOBAL_SCOPE = "global"


def scope_of(brand: str | None) -> str:
    return brand or GLOBAL_SCOPE


def signal_partition(scope: str, partitions: int) -> int:
    """A stable hash: every worker routes a scope to the same partition."""
    return zlib.crc32(scope.encode()) % partitions


@dataclass(frozen=True)
class Signal:
    kind: AlertKind
    scope: str
    observations: tuple[Observation, ...]


@dataclass(frozen=True)
class SignalBatch:
    """One message of the signals topic."""

    signals: tuple[Signal, ...] = ()
    marks: Mapping[str, Mark] = field(default_factory=dict)
    raw_partitions: int = 0
    sent_at: float = 0.0

    def encode(self) -> bytes:
        return _encode(_rows(self.signals), self.marks, self.raw_partitions, self.sent_at)

    @classmethod
    def decode(cls, value: bytes) -> SignalBatch:
        document = json.loads(value)
        grouped: dict[tuple[str, str], list[Observation]] = {}
        for kind, scope, *fields in document["rows"]:
            grouped.setdefault((kind, scope), []).append(Observation(*fields))
        return cls(
            tuple(Signal(AlertKind(k), s, tuple(obs)) for (k, s), obs in grouped.items()),
            {s: Mark(t, idle) for s, (t, idle) in document["marks"].items()},
            int(document["raw_partitions"]),
            float(document["sent_at"]),
        )


def _rows(signals: Iterable[Signal]) -> list[list[Any]]:
    return [
        [s.kind.value, s.scope, o.t, o.negative, o.tweet_id, o.text, o.reporter]
        for s in signals
        for o in s.observations
    ]


def _encode(
    rows: Sequence[list[Any]], marks: Mapping[str, Mark], raw_partitions: int, sent_at: float
) -> bytes:
    document = {
        "rows": rows,
        "marks": {s: [m.newest_t, m.idle] for s, m in marks.items()},
        "raw_partitions": raw_partitions,
        "sent_at": sent_at,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def routed(
    signals: Sequence[Signal],
    marks: Mapping[str, Mark],
    *,
    raw_partitions: int,
    sent_at: float,
    partitions: int,
    max_bytes: int,
) -> list[tuple[int, bytes]]:
    """(signals partition, message) for every signals partition: its scopes' observations
    in messages of at most about `max_bytes`, the marks in the last one."""
    rows_of: dict[int, list[list[Any]]] = {p: [] for p in range(partitions)}
    for signal in signals:
        rows_of[signal_partition(signal.scope, partitions)] += _rows([signal])
    messages = []
    for partition, rows in rows_of.items():
        whole = _encode(rows, marks, raw_partitions, sent_at)
        if len(whole) <= max_bytes:  # the usual batch: encoded once, no row measured
            messages.append((partition, whole))
            continue
        chunk: list[list[Any]] = []
        size = 0
        for row in rows:
            row_size = len(json.dumps(row, ensure_ascii=False).encode()) + 1
            if chunk and size + row_size > max_bytes:
                messages.append((partition, _encode(chunk, {}, raw_partitions, sent_at)))
                chunk, size = [], 0
            chunk.append(row)
            size += row_size
        messages.append((partition, _encode(chunk, marks, raw_partitions, sent_at)))
    return messages


def group_by_scope(kind: AlertKind, pairs: Iterable[tuple[str, Observation]]) -> list[Signal]:
    by_scope: dict[str, list[Observation]] = {}
    for scope, observation in pairs:
        by_scope.setdefault(scope, []).append(observation)
    return [Signal(kind, scope, tuple(obs)) for scope, obs in by_scope.items()]


def sentiment_signals(
    events: Iterable[SentimentEvent], example_chars: int, neutral_weight: float
) -> list[Signal]:
    """Only likely complaints carry their text, cut to `example_chars`: it gives alerts
    examples and terms. A tweet no model read (`unsupported_language`) is no observation:
    it counts neither towards a complaint share nor against it."""
    pairs = []
    for event in events:
        if not event.scored:
            continue
        weight = complaint_weight(event, neutral_weight)
        text = event.text[:example_chars] if weight >= COMPLAINT_EXAMPLE_WEIGHT else ""
        observation = Observation(event.event_time.timestamp(), weight, event.tweet_id, text)
        pairs.append((scope_of(event.brand), observation))
    return group_by_scope(AlertKind.NEGATIVE_SENTIMENT, pairs)
