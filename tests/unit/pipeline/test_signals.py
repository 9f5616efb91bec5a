"""Signals routed by scope, split by size, with the watermarks to every signals partition."""

import json
from datetime import UTC, datetime

from schemas import AlertKind, Label, SentimentEvent
from stream.alerts.watermarks import Mark
from stream.alerts.windows import Observation
from stream.pipeline.signals import (
    Signal,
    SignalBatch,
    routed,
    sentiment_signals,
    signal_partition,
)

MARKS = {"raw/0": Mark(100.0, False), "raw/1": Mark(None, True)}


def route(signals: list[Signal], max_bytes: int = 262_144) -> list[tuple[int, bytes]]:
    return routed(signals, MARKS, raw_partitions=2, sent_at=5.0, partitions=3, max_bytes=max_bytes)


def test_every_signals_partition_gets_the_watermarks_even_with_no_scope_of_its_own() -> None:
    messages = route([Signal(AlertKind.NEGATIVE_SENTIMENT, "air", (Observation(1.0, 1, "t"),))])
    assert sorted(p for p, _ in messages) == [0, 1, 2]
    for partition, value in messages:
        batch = SignalBatch.decode(value)
        assert batch.marks == MARKS and batch.raw_partitions == 2
        assert bool(batch.signals) == (partition == signal_partition("air", 3))


def test_ten_thousand_brands_cost_one_message_per_partition() -> None:
    signals = [
        Signal(AlertKind.NEGATIVE_SENTIMENT, f"brand-{n}", (Observation(1.0, 0, f"t{n}"),))
        for n in range(10_000)
    ]
    messages = route(signals)
    assert len(messages) == 3
    decoded = [s for _, value in messages for s in SignalBatch.decode(value).signals]
    assert sorted(s.scope for s in decoded) == sorted(s.scope for s in signals)


def test_messages_are_split_by_size_and_the_watermarks_come_last() -> None:
    text = "€" * 280
    observations = tuple(Observation(float(n), 1, f"id-{n}", text) for n in range(2_000))
    messages = route([Signal(AlertKind.NEGATIVE_SENTIMENT, "air", observations)], 65_536)
    mine = [value for p, value in messages if p == signal_partition("air", 3)]
    assert len(mine) > 10 and all(len(value) < 65_536 + 2_000 for value in mine)
    assert [bool(json.loads(v)["marks"]) for v in mine] == [False] * (len(mine) - 1) + [True]
    rows = [o for v in mine for s in SignalBatch.decode(v).signals for o in s.observations]
    assert rows == list(observations)


def sentiment_event(tweet_id: str, **scores: object) -> SentimentEvent:
    return SentimentEvent(
        tweet_id=tweet_id,
        model_version="m",
        scored_at=datetime(2026, 3, 1, tzinfo=UTC),
        event_time=datetime(2026, 3, 1, tzinfo=UTC),
        brand="air",
        text="...",
        **scores,
    )


def test_a_tweet_no_model_read_counts_neither_towards_nor_against_an_alert() -> None:
    events = [
        sentiment_event("neg", label=Label.NEGATIVE, p_positive=0.1, p_negative=0.9),
        sentiment_event(
            "es", label=Label.UNSUPPORTED_LANGUAGE, p_positive=None, scored=False, lang="es"
        ),
    ]
    [signal] = sentiment_signals(events, example_chars=100, neutral_weight=0.5)
    assert [o.tweet_id for o in signal.observations] == ["neg"]
    assert sentiment_signals(events[1:], example_chars=100, neutral_weight=0.5) == []
