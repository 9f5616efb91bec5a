from datetime import UTC, datetime

from stream.models.shadow import Shadow
from stream.models.slot import Serving
from stream.pipeline.steps import Pipeline
from stream.settings import Settings
from tests.unit.models.conftest import OneLabelScorer, raw_tweets

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SETTINGS = Settings(label_shift=False)


def champion_batch(*ids: str):
    steps = Pipeline.from_settings(SETTINGS, OneLabelScorer("champ", 0.9), lambda: NOW)
    return steps.score(raw_tweets(*ids)).outcome


def test_the_challenger_scores_one_batch_in_every_and_is_compared_with_the_champion() -> None:
    shadow = Shadow(Serving.of(SETTINGS, OneLabelScorer("chall", 0.1)), every=2)
    first = shadow.score("champ", champion_batch("a", "b"))
    skipped = shadow.score("champ", champion_batch("c"))
    third = shadow.score("champ", champion_batch("d"))
    assert first is not None and first.labels == ["negative", "negative"] and first.agreed == 0
    assert skipped is None and third is not None
    tally = shadow.tally()
    assert tally is not None
    assert (tally.champion, tally.scored, tally.agreed) == ("champ", 3, 0)
    assert tally.labels == {"negative": 3}


def test_users_labels_say_which_model_was_right_on_tweets_both_scored() -> None:
    shadow = Shadow(Serving.of(SETTINGS, OneLabelScorer("chall", 0.1)), every=1)
    shadow.score("champ", champion_batch("a", "b", "c"))
    verdicts = shadow.judge([("a", "negative"), ("b", "positive"), ("never-scored", "negative")])
    assert verdicts == [(False, True), (True, False)]
    tally = shadow.tally()
    assert tally is not None
    assert (tally.feedback, tally.champion_right, tally.challenger_right) == (2, 1, 1)


def test_only_the_latest_tweets_are_remembered_for_feedback() -> None:
    shadow = Shadow(Serving.of(SETTINGS, OneLabelScorer("chall", 0.1)), every=1, remembered=2)
    shadow.score("champ", champion_batch("a", "b", "c"))
    assert shadow.judge([("a", "negative"), ("c", "negative")]) == [(False, True)]


def test_a_new_champion_starts_the_tally_again() -> None:
    shadow = Shadow(Serving.of(SETTINGS, OneLabelScorer("chall", 0.1)), every=1)
    shadow.score("champ", champion_batch("a", "b"))
    shadow.score("champ-2", champion_batch("c"))
    tally = shadow.tally()
    assert tally is not None and (tally.champion, tally.scored) == ("champ-2", 1)
