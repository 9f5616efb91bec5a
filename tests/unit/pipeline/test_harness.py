"""The whole pipeline (score -> signals -> windows -> alerts) on lists of messages, no broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import SentimentModel
from schemas import Label
from stream.pipeline.harness import run_pipeline
from stream.pipeline.steps import Pipeline
from stream.settings import Settings
from tests.support import hostile_payloads

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ANGRY = "worst airline ever, flight cancelled, lost my bags, rude staff, never again"


@pytest.fixture(scope="module")
def scorer() -> SentimentModel:
    return SentimentModel.load()


@pytest.fixture
def pipeline(scorer: SentimentModel) -> Pipeline:
    return Pipeline.from_settings(Settings(label_shift=False), scorer, lambda: NOW)


def tweet(tweet_id: str, text: str = ANGRY, **extra: object) -> bytes:
    created = (NOW - timedelta(seconds=30)).isoformat()
    return json.dumps(
        {"id": tweet_id, "text": text, "brand": "airparadis", "created_at": created, **extra}
    ).encode()


def wrong_report(n: int, **who: str) -> bytes:
    """A report that the tweet `t<n>`, scored positive, was not; `who` says who sent it."""
    report = {
        "tweet_id": f"t{n}",
        "verdict": "wrong",
        "predicted_label": "positive",
        "text": "so the flight was cancelled, great",
        "brand": "airparadis",
        "reported_at": NOW.isoformat(),
        **who,
    }
    return json.dumps(report).encode()


def raised(outputs: dict[str, list], topic: str = "alerts.badbuzz") -> list[dict]:
    return [alert for alert in outputs.get(topic, []) if alert["status"] == "raised"]


def test_a_burst_of_a_new_brand_raises_one_alert_with_its_counts(pipeline: Pipeline) -> None:
    outputs = run_pipeline(pipeline, [tweet(f"t{n}") for n in range(40)] + [b"{not json"])
    assert len(outputs["tweets.sentiment"]) == 40
    assert [letter["reason"] for letter in outputs["tweets.deadletter"]] == ["malformed_json"]
    [alert] = raised(outputs)  # one batch, one signal: the window holds the whole burst
    assert (alert["kind"], alert["scope"]) == ("negative_sentiment", "airparadis")
    assert alert["total"] == 40
    weights = [
        e["p_negative"] + 0.5 * (1 - e["p_positive"] - e["p_negative"])
        for e in outputs["tweets.sentiment"]
    ]  # the complaint measure, alert_neutral_weight 0.5
    assert alert["count"] == pytest.approx(sum(weights), abs=0.01)
    assert len(alert["examples"]) == 1  # 40 copies of one text are quoted once
    assert "expected" in alert["threshold"]


def test_the_same_burst_twice_counts_as_once(pipeline: Pipeline) -> None:
    burst = [tweet(f"t{n}") for n in range(40)]
    once = run_pipeline(pipeline, burst)
    twice = run_pipeline(pipeline, burst + burst)
    assert len(raised(twice)) == 1
    assert raised(twice)[0]["count"] == raised(once)[0]["count"]
    states = [s for s in twice[f"{pipeline.settings.app_id}-alert-state"] if "window" in s]
    window = states[-1]["window"]  # decided by now: its buckets are rolled into their hour
    assert sum(c[1] for part in ("buckets", "hours") for c in window[part].values()) == 40


def test_a_tweet_dated_2036_does_not_silence_the_brand(pipeline: Pipeline) -> None:
    liar = tweet("from-the-future", created_at="2036-01-01T00:00:00+00:00")
    outputs = run_pipeline(pipeline, [liar, *(tweet(f"t{n}") for n in range(40))])
    future = next(e for e in outputs["tweets.sentiment"] if e["tweet_id"] == "from-the-future")
    assert future["created_at"].startswith("2036") and future["event_time"].startswith("2026")
    assert len(raised(outputs)) == 1


def test_three_wrong_predictions_raise_a_feedback_alert_and_train_rows(
    pipeline: Pipeline,
) -> None:
    reports = [wrong_report(n, user=f"user-{n}") for n in range(3)]  # `user`: `reporter`'s alias
    outputs = run_pipeline(pipeline, feedback=reports)
    assert [row["label"] for row in outputs["tweets.feedback.labelled"]] == ["negative"] * 3
    [alert] = raised(outputs)
    assert (alert["kind"], alert["count"]) == ("negative_feedback", 3)


def test_one_reporter_cannot_raise_a_feedback_alert_alone(pipeline: Pipeline) -> None:
    reports = [
        wrong_report(n, reporter="mallory", source="kafka:User:support-app") for n in range(10)
    ]
    outputs = run_pipeline(pipeline, feedback=reports)
    assert raised(outputs) == []
    rows = outputs["tweets.feedback.labelled"]
    assert len(rows) == 10 and {(r["source"], r["reporter"]) for r in rows} == {
        ("kafka:User:support-app", "mallory")
    }


def test_ordinary_traffic_raises_nothing(pipeline: Pipeline) -> None:
    calm = [tweet(f"c{n}", "flight AP123 landed on time, thanks crew") for n in range(60)]
    assert raised(run_pipeline(pipeline, calm)) == []


EXTREME_TIMES = (
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "1970-01-01T00:00:00Z",
    (NOW - timedelta(seconds=30)).isoformat(),
)


def report(n: int, reported_at: str, brand: str) -> bytes:
    document = {"tweet_id": str(n), "verdict": "wrong", "reported_at": reported_at}
    return json.dumps({**document, "brand": brand, "user": f"u{n}"}).encode()


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        hostile_payloads
        | st.builds(
            lambda n, at, brand: tweet(str(n), created_at=at, brand=brand),
            st.integers(0, 40),
            st.sampled_from(EXTREME_TIMES),
            st.sampled_from(["a", "b"]),
        ),
        max_size=30,
    ),
    st.lists(
        hostile_payloads
        | st.builds(
            report, st.integers(0, 40), st.sampled_from(EXTREME_TIMES), st.sampled_from(["a", "b"])
        ),
        max_size=30,
    ),
)
def test_hostile_tweets_and_feedback_go_through_the_whole_pipeline_without_an_exception(
    scorer: SentimentModel, tweets: list[bytes], feedback: list[bytes]
) -> None:
    """Scored or dead-lettered, each of them, on to the alerts, dates at both ends of time."""
    pipeline = Pipeline.from_settings(Settings(label_shift=False), scorer, lambda: NOW)
    outputs = run_pipeline(pipeline, tweets, feedback)
    letters = outputs.get("tweets.deadletter", [])
    assert len(outputs.get("tweets.sentiment", [])) + sum(
        letter["source_topic"] == "tweets.raw" for letter in letters
    ) == len(tweets)


def test_predict_with_the_live_prior_on_reads_languages_and_reports_a_prior_for_none_served(
    scorer: SentimentModel,
) -> None:
    """/predict's step with label shift on (the default): a request whose texts no model
    reads still answers, with the live prior; `und` (Twitter's undetermined) is detected."""
    steps = Pipeline.from_settings(Settings(), scorer, lambda: NOW)
    none_served = steps.predict(["Der Flug wurde gestrichen"], ["de"])
    assert none_served.labels == [Label.UNSUPPORTED_LANGUAGE]
    assert none_served.probabilities == [None]
    assert none_served.prior.sum() == pytest.approx(1.0)
    detected = steps.predict(["Vol annulé et personne au comptoir, quelle honte"], ["und"])
    assert (detected.langs, detected.labels) == (["fr"], [Label.NEGATIVE])
    assert detected.versions == [scorer.version_of("fr")]
