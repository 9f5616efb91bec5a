"""One micro-batch of raw records in, sentiment events and dead letters out (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import numpy as np

from schemas import DeadLetter, Label, RawTweet, SentimentEvent
from stream.intake import RawRecord, Rejection, dead_letter, parse_tweet
from stream.windows import clamp_to_arrival


class TextScorer(Protocol):
    version: str
    threshold: float

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass
class BatchOutcome:
    events: list[SentimentEvent] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    clamped: int = 0  # events whose claimed time was too far ahead of the clock


def record_time(record: RawRecord, now: datetime) -> datetime:
    """When Kafka got the message, or now when the message has no timestamp."""
    if record.timestamp is not None:
        return datetime.fromtimestamp(record.timestamp, tz=UTC)
    return now


def trusted_time(claimed: datetime, now: datetime, max_ahead_s: float) -> datetime:
    """The claimed time, or `now` (arrival) when the claim is more than `max_ahead_s` ahead:
    a producer's clock, or a typo, must not move the alert windows into the future."""
    t = clamp_to_arrival(claimed.timestamp(), now.timestamp(), max_ahead_s)
    return claimed if t == claimed.timestamp() else now


def process_batch(
    records: Sequence[RawRecord],
    scorer: TextScorer,
    *,
    max_payload_bytes: int,
    deadletter_payload_bytes: int,
    now: datetime,
    event_time_max_ahead_s: float,
) -> BatchOutcome:
    """Validate every record, score the valid ones in one model call, keep input order."""
    outcome = BatchOutcome()
    accepted: list[tuple[RawRecord, RawTweet]] = []
    for record in records:
        parsed = parse_tweet(record.value, max_payload_bytes)
        if isinstance(parsed, Rejection):
            outcome.dead_letters.append(dead_letter(record, parsed, deadletter_payload_bytes, now))
        else:
            accepted.append((record, parsed))
    if not accepted:
        return outcome
    probabilities = scorer.predict_proba([tweet.text for _, tweet in accepted])
    for (record, tweet), p_positive in zip(accepted, probabilities, strict=True):
        p = float(p_positive)
        claimed = tweet.created_at or record_time(record, now)  # when it happened, else sent
        trusted = trusted_time(claimed, now, event_time_max_ahead_s)
        outcome.clamped += trusted != claimed
        outcome.events.append(
            SentimentEvent(
                tweet_id=tweet.id,
                label=Label.POSITIVE if p >= scorer.threshold else Label.NEGATIVE,
                p_positive=p,
                model_version=scorer.version,
                scored_at=now,
                event_time=trusted,
                created_at=tweet.created_at,
                brand=tweet.brand,
                text=tweet.text,
            )
        )
    return outcome
