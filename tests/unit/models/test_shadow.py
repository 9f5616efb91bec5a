import json
import queue
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from stream.models.shadow import Shadow, ShadowBatch
from stream.models.slot import Serving
from stream.pipeline.steps import Pipeline
from stream.records import RawRecord
from stream.settings import Settings
from tests.unit.models.conftest import OneLabelScorer, raw_tweets

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SETTINGS = Settings(label_shift=False)


def champion_batch(*ids: str):
    steps = Pipeline.from_settings(SETTINGS, OneLabelScorer("champ", 0.9), lambda: NOW)
    return steps.score(raw_tweets(*ids)).outcome


def shadow_of(scorer: OneLabelScorer, every: int = 1, **options) -> Shadow:
    return Shadow(Serving.of(SETTINGS, scorer), every, **options)


def test_the_challenger_is_compared_with_the_champion_on_the_same_texts() -> None:
    shadow = shadow_of(OneLabelScorer("chall", 0.1))
    batch = shadow.score("champ", champion_batch("a", "b"))
    shadow.stop()
    assert (batch.labels, batch.agreed) == (["negative", "negative"], 0)
    tally = shadow.tally()
    assert tally is not None
    assert (tally.champion, tally.scored, tally.agreed, tally.labels) == (
        "champ",
        2,
        0,
        {"negative": 2},
    )


def test_one_batch_in_every_is_scored_on_the_shadow_thread() -> None:
    scored: queue.Queue[ShadowBatch] = queue.Queue()
    shadow = shadow_of(OneLabelScorer("chall", 0.1), every=2, on_scored=scored.put)
    for tweet_id in "abcde":
        shadow.offer("champ", champion_batch(tweet_id))
        if tweet_id in "ace":
            assert scored.get(timeout=5).labels == ["negative"]
    shadow.stop()
    tally = shadow.tally()
    assert scored.empty() and tally is not None and tally.scored == 3 and shadow.skipped == 0


class HeldScorer(OneLabelScorer):
    """Scores only once released: a challenger slower than the stream."""

    def __init__(self) -> None:
        super().__init__("slow", 0.1)
        self.release = threading.Event()

    def predict_classes(
        self, texts: Sequence[str], langs: Sequence[str] | None = None
    ) -> np.ndarray:
        self.release.wait(10)
        return super().predict_classes(texts, langs)


def test_a_busy_challenger_skips_batches_instead_of_holding_the_stream() -> None:
    slow = HeldScorer()
    shadow = shadow_of(slow)
    for tweet_id in "abcdef":
        shadow.offer("champ", champion_batch(tweet_id))  # never blocks
    slow.release.set()
    shadow.stop()
    tally = shadow.tally()
    assert tally is not None and 1 <= tally.scored <= 2  # the one running, the one waiting
    assert shadow.skipped == 6 - tally.scored


def test_users_labels_say_which_model_was_right_on_tweets_both_scored() -> None:
    shadow = shadow_of(OneLabelScorer("chall", 0.1))
    shadow.score("champ", champion_batch("a", "b", "c"))
    verdicts = shadow.judge([("a", "negative"), ("b", "positive"), ("never-scored", "negative")])
    shadow.stop()
    assert verdicts == [(False, True), (True, False)]
    tally = shadow.tally()
    assert tally is not None
    assert (tally.feedback, tally.champion_right, tally.challenger_right) == (2, 1, 1)


def test_only_the_latest_tweets_are_remembered_for_feedback() -> None:
    shadow = shadow_of(OneLabelScorer("chall", 0.1), remembered=2)
    shadow.score("champ", champion_batch("a", "b", "c"))
    shadow.stop()
    assert shadow.judge([("a", "negative"), ("c", "negative")]) == [(False, True)]


def test_a_new_champion_starts_the_tally_again() -> None:
    shadow = shadow_of(OneLabelScorer("chall", 0.1))
    shadow.score("champ", champion_batch("a", "b"))
    shadow.score("champ-2", champion_batch("c"))
    shadow.stop()
    tally = shadow.tally()
    assert tally is not None and (tally.champion, tally.scored) == ("champ-2", 1)


class BilingualScorer(OneLabelScorer):
    """Reads English and French; a tweet's language is the producer's `lang`."""

    languages = frozenset({"en", "fr"})

    def languages_of(self, texts: Sequence[str], claimed: Sequence[str | None]) -> list[str]:
        return [lang or self.language for lang in claimed]


def test_the_challenger_reads_the_champions_scored_tweets_and_flags_the_languages_it_cannot() -> (
    None
):
    records = [
        RawRecord("tweets.raw", 0, n, None, json.dumps({"id": i, "text": i, "lang": lang}).encode())
        for n, (i, lang) in enumerate([("a", "en"), ("b", "fr"), ("c", "es")])
    ]
    steps = Pipeline.from_settings(SETTINGS, BilingualScorer("champ", 0.9), lambda: NOW)
    outcome = steps.score(records).outcome
    assert [e.scored for e in outcome.events] == [True, True, False]

    shadow = shadow_of(OneLabelScorer("chall", 0.1))  # English only
    batch = shadow.score("champ", outcome)
    shadow.stop()

    # the French tweet it cannot read counts as what it would make of it once promoted;
    # the Spanish one, which the champion did not score either, not at all
    assert (batch.labels, batch.agreed) == (["negative", "unsupported_language"], 0)
    tally = shadow.tally()
    assert tally is not None and tally.scored == 2
    assert tally.labels == {"negative": 1, "unsupported_language": 1}
