"""The scoring thread's batch handler, without a broker or an event loop: a batch whose
scoring raises is scored input by input, and the input that still raises is dead-lettered
with the batch's other outputs, counted once they are delivered. And the agent's metrics:
tweets by label and by language."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
from prometheus_client import REGISTRY

from schemas import Label, SentimentEvent
from stream.agents.handling import Handling
from stream.agents.scoring import RawBatchHandler, observe_batch
from stream.models.slot import Serving
from stream.pipeline.scoring import OneModelScorer
from stream.pipeline.steps import Pipeline, Scored
from stream.records import RawRecord, UndecodableBatch
from stream.settings import Settings
from stream.web import StatusBoard

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class PoisonScorer(OneModelScorer):
    """Scores any text, except that a batch holding "poison" raises (as a model bug would);
    it also checks it is called where no event loop runs."""

    version = "poison-1"
    threshold = 0.5
    classes = ("negative", "positive")
    train_prior = np.array([0.5, 0.5])
    language = "en"
    languages = frozenset({"en"})

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def predict_classes(
        self, texts: Sequence[str], langs: Sequence[str] | None = None
    ) -> np.ndarray:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise AssertionError("scored on an event loop")
        self.batches.append(list(texts))
        if any("poison" in text for text in texts):
            raise ValueError("the model choked")
        return np.array([[0.8, 0.2]] * len(texts))


class Delivered:
    """The observer: what was counted once the outputs were delivered."""

    def __init__(self) -> None:
        self.batches: list[tuple[int, int, int]] = []

    def delivered(self, records: Sequence[RawRecord], undecodable: int, scored: Scored) -> None:
        self.batches.append((len(records), undecodable, len(scored.outcome.events)))


def raw(offset: int, text: str, created_at: str | None = None) -> RawRecord:
    tweet = {"id": f"t-{offset}", "text": text, "brand": "air"}
    value = json.dumps(tweet | ({"created_at": created_at} if created_at else {})).encode()
    return RawRecord("tweets.raw", 0, offset, NOW.timestamp(), value)


def handler() -> tuple[RawBatchHandler, PoisonScorer, Delivered, Pipeline]:
    settings = Settings(label_shift=False, processing_attempts=2, processing_backoff_s=0.0)
    scorer = PoisonScorer()
    pipeline = Pipeline(settings, scorer, lambda: NOW)
    # no outputs producer: the handler's outputs go back to the consumer
    handling = Handling(pipeline, None, StatusBoard())  # type: ignore[arg-type]
    observer = Delivered()
    lag = {("tweets.raw", 0): 3}
    handle = RawBatchHandler(handling, observer, lambda: lag)  # type: ignore[arg-type]
    return handle, scorer, observer, pipeline


def test_a_poisoned_batch_is_isolated_and_its_poison_dead_lettered_with_the_outputs() -> None:
    handle, scorer, observer, _ = handler()
    records = [raw(0, "late again"), raw(1, "poison pill"), raw(2, "lost my bags")]
    handled = handle(records, [])()
    # the batch twice (the policy's attempts), then each input alone
    assert [len(batch) for batch in scorer.batches] == [3, 3, 1, 1, 1]
    events = [json.loads(m.value) for m in handled.outgoing if m.topic == "tweets.sentiment"]
    letters = [json.loads(m.value) for m in handled.outgoing if m.topic == "tweets.deadletter"]
    assert [e["tweet_id"] for e in events] == ["t-0", "t-2"]
    assert [(d["offset"], d["reason"]) for d in letters] == [(1, "processing_failed")]
    assert "the model choked" in letters[0]["detail"]
    assert observer.batches == []  # nothing counted before the broker has it
    handled.then()
    assert observer.batches == [(3, 0, 2)]


def test_an_undecodable_input_is_dead_lettered_beside_the_scored_batch() -> None:
    handle, _, observer, _ = handler()
    broken = UndecodableBatch("tweets.raw", 0, 5, 5, ValueError("bad crc"))
    handled = handle([raw(4, "fine flight")], [broken])()
    letters = [json.loads(m.value) for m in handled.outgoing if m.topic == "tweets.deadletter"]
    assert [d["offset"] for d in letters] == [5]
    handled.then()
    assert observer.batches == [(1, 1, 1)]


def test_an_idle_tick_sends_the_watermarks_and_counts_nothing() -> None:
    handle, scorer, observer, _ = handler()
    handled = handle([], [])().completed()
    assert {m.topic for m in handled.outgoing} == {"badbuzz-signals"}
    assert scorer.batches == []
    handled.then()
    assert observer.batches == []


def test_a_batch_handled_before_an_earlier_one_does_not_move_the_earlier_ones_watermark() -> None:
    """Batches are handled side by side; their signals are made as they come out, in read
    order, so an earlier batch's watermark never counts a later batch's events (which the
    detect step would then find late)."""
    handle, _, _, _ = handler()
    first = handle([raw(0, "late again", created_at="2026-03-01T11:00:00Z")], [])
    second = handle([raw(1, "lost my bags", created_at="2026-03-01T11:30:00Z")], [])
    handled_second, handled_first = second(), first()  # the later batch's work ends first
    marks = [  # every signals partition hears each batch's marks
        {
            json.loads(m.value)["marks"]["raw/0"][0]
            for m in handled.completed().outgoing
            if m.topic == "badbuzz-signals"
        }
        for handled in (handled_first, handled_second)
    ]
    eleven = datetime(2026, 3, 1, 11, 0, tzinfo=UTC).timestamp()
    assert marks == [{eleven}, {eleven + 1800}]


def test_a_batch_is_scored_by_the_model_it_took_when_it_was_read() -> None:
    """The handler is called in read order on the consumer's thread; its work may run later,
    on a handler thread, after a swap: the batch keeps the model it took."""
    handle, _, _, pipeline = handler()
    work = handle([raw(0, "late again")], [])
    successor = PoisonScorer()
    successor.version = "poison-2"
    pipeline.models.swap(Serving.of(pipeline.settings, successor))
    events = [json.loads(m.value) for m in work().outgoing if m.topic == "tweets.sentiment"]
    assert [e["model_version"] for e in events] == ["poison-1"]
    assert successor.batches == []


def event(tweet_id: str, lang: str, label: Label) -> SentimentEvent:
    scored = label is not Label.UNSUPPORTED_LANGUAGE
    return SentimentEvent(
        tweet_id=tweet_id,
        label=label,
        p_positive=0.9 if scored else None,
        scored=scored,
        model_version="m",
        scored_at=NOW,
        event_time=NOW,
        text="...",
        lang=lang,
    )


def counts() -> dict[str, float]:
    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    return {
        "positive": value("badbuzz_tweets_scored_total", label="positive"),
        "unsupported": value("badbuzz_tweets_scored_total", label="unsupported_language"),
        "fr": value("badbuzz_tweets_language_total", lang="fr", scored="true"),
        "tlh": value("badbuzz_tweets_language_total", lang="other", scored="false"),
    }


def test_a_flagged_tweet_counts_by_language_but_not_as_scored() -> None:
    before = counts()
    events = [event("1", "fr", Label.POSITIVE), event("2", "tlh", Label.UNSUPPORTED_LANGUAGE)]

    observe_batch([], events, [], 0.01)

    after = counts()
    assert {k: after[k] - before[k] for k in after} == {
        "positive": 1.0,
        "unsupported": 0.0,
        "fr": 1.0,
        "tlh": 1.0,
    }
