"""The scoring agent's metrics: tweets by label and by language."""

from datetime import UTC, datetime

from prometheus_client import REGISTRY

from schemas import Label, SentimentEvent
from stream.agents.scoring import observe_batch

NOW = datetime(2026, 3, 1, tzinfo=UTC)


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
