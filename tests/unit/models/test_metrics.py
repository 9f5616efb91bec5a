"""Per-version model metrics: a batch's inference time belongs to the bundle that scored
it, whatever language its first tweet is in."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import REGISTRY

from schemas import Label, SentimentEvent
from stream.models.metrics import observe_champion

AT = datetime(2026, 3, 1, tzinfo=UTC)


def event(tweet_id: str, version: str, lang: str) -> SentimentEvent:
    return SentimentEvent(
        tweet_id=tweet_id,
        label=Label.NEGATIVE,
        p_positive=0.1,
        p_negative=0.9,
        model_version=version,
        scored_at=AT,
        event_time=AT,
        text="...",
        lang=lang,
    )


def inference_count(version: str) -> float:
    labels = {"version": version, "role": "champion"}
    return REGISTRY.get_sample_value("badbuzz_model_inference_seconds_count", labels) or 0.0


def test_a_batch_whose_first_tweet_is_french_is_timed_under_the_bundles_version() -> None:
    before = inference_count("bundle-v1"), inference_count("bundle-v1-fr")
    batch = [event("a", "bundle-v1-fr", "fr"), event("b", "bundle-v1", "en")]
    observe_champion("bundle-v1", batch, 0.02)
    assert (inference_count("bundle-v1"), inference_count("bundle-v1-fr")) == (
        before[0] + 1,
        before[1],
    )
    scored = REGISTRY.get_sample_value(
        "badbuzz_model_scored_total", {"version": "bundle-v1-fr", "label": "negative"}
    )
    assert scored is not None and scored >= 1  # the route's tweets, under the route
