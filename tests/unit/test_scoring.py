import json
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from schemas import Label
from stream.intake import RawRecord
from stream.scoring import process_batch

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MAX_AHEAD_S = 300


class KeywordScorer:
    """Deterministic stand-in for the model: the batching logic is what is under test."""

    version = "keyword-1"
    threshold = 0.5

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([0.9 if "love" in text else 0.1 for text in texts], dtype=np.float32)


def record(
    offset: int, value: bytes | None, timestamp: float | None = 1_772_366_400.0
) -> RawRecord:
    return RawRecord("tweets.raw", 0, offset, timestamp, value)


def tweet(tweet_id: str, text: str, **extra: str) -> bytes:
    return json.dumps({"id": tweet_id, "text": text, **extra}).encode()


def run(records: list[RawRecord], scorer: KeywordScorer | None = None):
    return process_batch(
        records,
        scorer or KeywordScorer(),
        max_payload_bytes=4096,
        deadletter_payload_bytes=64,
        now=NOW,
        event_time_max_ahead_s=MAX_AHEAD_S,
    )


def test_valid_tweets_are_scored_in_one_call_and_keep_their_order() -> None:
    scorer = KeywordScorer()
    outcome = run(
        [record(0, tweet("a", "I love it")), record(1, b"{bad"), record(2, tweet("b", "awful"))],
        scorer,
    )
    assert scorer.calls == [["I love it", "awful"]]
    assert [(e.tweet_id, e.label) for e in outcome.events] == [
        ("a", Label.POSITIVE),
        ("b", Label.NEGATIVE),
    ]
    assert [d.offset for d in outcome.dead_letters] == [1]
    assert outcome.events[0].model_version == "keyword-1"
    assert outcome.events[0].scored_at == NOW


def test_event_time_prefers_created_at_then_kafka_timestamp_then_now() -> None:
    outcome = run(
        [
            record(0, tweet("a", "x", created_at="2025-05-05T10:00:00Z")),
            record(1, tweet("b", "y"), timestamp=1_700_000_000.0),
            record(2, tweet("c", "z"), timestamp=None),
        ]
    )
    times = [e.event_time for e in outcome.events]
    assert times == [
        datetime(2025, 5, 5, 10, 0, tzinfo=UTC),
        datetime.fromtimestamp(1_700_000_000.0, tz=UTC),
        NOW,
    ]


def test_an_event_time_too_far_ahead_becomes_the_arrival_time_and_the_claim_is_kept() -> None:
    ahead = NOW.timestamp() + MAX_AHEAD_S
    outcome = run(
        [
            record(0, tweet("2036", "x", created_at="2036-01-01T00:00:00Z")),
            record(1, tweet("skewed-broker", "y"), timestamp=ahead + 1),
            record(
                2, tweet("within", "z", created_at=datetime.fromtimestamp(ahead, UTC).isoformat())
            ),
        ]
    )
    assert [e.event_time for e in outcome.events] == [
        NOW,
        NOW,
        datetime.fromtimestamp(ahead, tz=UTC),
    ]
    assert outcome.events[0].created_at == datetime(2036, 1, 1, tzinfo=UTC)
    assert outcome.clamped == 2


def test_brand_and_created_at_are_carried_over() -> None:
    outcome = run([record(0, tweet("a", "x", brand="airparadis", created_at="2025-05-05"))])
    event = outcome.events[0]
    assert event.brand == "airparadis"
    assert event.created_at == datetime(2025, 5, 5, tzinfo=UTC)


def test_an_all_bad_batch_never_calls_the_model() -> None:
    scorer = KeywordScorer()
    outcome = run([record(0, None), record(1, b"[]")], scorer)
    assert scorer.calls == []
    assert [d.reason for d in outcome.dead_letters] == ["empty_payload", "not_an_object"]
