"""Observations for the alert windows, sent keyed by scope on an internal topic.

Sentiment events are keyed by tweet id, so one scope's tweets are spread over partitions
and workers; re-keying per-batch observations by scope brings a scope's whole traffic to
one partition of the alert state, at the cost of one small message per scope per batch.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from schemas import AlertKind, Label, SentimentEvent
from stream.alerts.windows import Observation

GLOBAL_SCOPE = "global"


def scope_of(brand: str | None) -> str:
    return brand or GLOBAL_SCOPE


@dataclass(frozen=True)
class Signal:
    kind: AlertKind
    scope: str
    observations: tuple[Observation, ...]

    def encode(self) -> bytes:
        return json.dumps(
            {
                "kind": self.kind.value,
                "scope": self.scope,
                "observations": [
                    [o.t, o.negative, o.tweet_id, o.text, o.reporter] for o in self.observations
                ],
            }
        ).encode()

    @classmethod
    def decode(cls, value: bytes) -> Signal:
        """Also reads the 4-field observations of older workers (no `reporter`)."""
        document = json.loads(value)
        return cls(
            AlertKind(document["kind"]),
            document["scope"],
            tuple(Observation(*fields) for fields in document["observations"]),
        )


def group_by_scope(kind: AlertKind, pairs: Iterable[tuple[str, Observation]]) -> list[Signal]:
    by_scope: dict[str, list[Observation]] = defaultdict(list)
    for scope, observation in pairs:
        by_scope[scope].append(observation)
    return [Signal(kind, scope, tuple(obs)) for scope, obs in by_scope.items()]


def sentiment_signals(events: Iterable[SentimentEvent]) -> list[Signal]:
    """Only negatives carry their text: it is there to give alerts examples."""
    return group_by_scope(
        AlertKind.NEGATIVE_SENTIMENT,
        (
            (
                scope_of(event.brand),
                Observation(
                    t=event.event_time.timestamp(),
                    negative=event.label is Label.NEGATIVE,
                    tweet_id=event.tweet_id,
                    text=event.text if event.label is Label.NEGATIVE else "",
                ),
            )
            for event in events
        ),
    )
