"""One micro-batch of raw records in, sentiment events and dead letters out (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import numpy as np

from schemas import DeadLetter, Label, RawTweet, SentimentEvent
from stream.intake import RawRecord, Rejection, dead_letter, parse_tweet


class TextScorer(Protocol):
    version: str
    threshold: float

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass
class BatchOutcome:
    events: list[SentimentEvent] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


def record_time(record: RawRecord, now: datetime) -> datetime:
    """When Kafka got the message, or now when the message has no timestamp."""
    if record.timestamp is not None:
        return datetime.fromtimestamp(record.timestamp, tz=UTC)
    return now


def event_time(tweet: RawTweet, record: RawRecord, now: datetime) -> datetime:
    """Windows follow when the tweet happened, falling back to when Kafka got it."""
    return tweet.created_at or record_time(record, now)


def process_batch(
    records: Sequence[RawRecord],
    scorer: TextScorer,
    *,
    max_payload_bytes: int,
    deadletter_payload_bytes: int,
    now: datetime,
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
        outcome.events.append(
            SentimentEvent(
                tweet_id=tweet.id,
                label=Label.POSITIVE if p >= scorer.threshold else Label.NEGATIVE,
                p_positive=p,
                model_version=scorer.version,
                scored_at=now,
                event_time=event_time(tweet, record, now),
                created_at=tweet.created_at,
                brand=tweet.brand,
                text=tweet.text,
            )
        )
    return outcome
