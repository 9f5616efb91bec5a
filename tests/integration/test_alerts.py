"""Bad-buzz alerts end to end: quiet on normal traffic, one alert per burst, restart-safe."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from stream.replay import read_tweets
from tests.support import PROJECT_ROOT, Collector, WorkerProcess, produce, tweet_payload

pytestmark = pytest.mark.integration

ALERT_ENV = {
    "BADBUZZ_ALERT_MIN_NEGATIVES": "15",
    "BADBUZZ_ALERT_COOLDOWN_S": "600",
}
ANGRY = [
    "worst airline ever, flight cancelled and no refund, disgusting",
    "lost my luggage again, rude staff, never flying with them again",
    "delayed 6 hours, no food, no information, terrible service",
    "awful experience, dirty plane and the crew was so rude",
]


def now_iso(offset_s: float = 0.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_s)).isoformat()


def burst(prefix: str, count: int, brand: str) -> list[tuple[bytes, bytes]]:
    return [
        tweet_payload(f"{prefix}-{n}", ANGRY[n % len(ANGRY)], brand=brand, created_at=now_iso())
        for n in range(count)
    ]


def raised(alerts: list[dict], kind: str, scope: str) -> list[dict]:
    return [
        a for a in alerts if a["kind"] == kind and a["scope"] == scope and a["status"] == "raised"
    ]


@pytest.fixture
def env(unique_env: dict[str, str]) -> dict[str, str]:
    return {**unique_env, **ALERT_ENV}


def test_normal_traffic_is_quiet_and_a_burst_raises_exactly_one_alert(
    env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
    # the last 15 minutes of ordinary traffic, then a burst: the baseline is ordinary
    rows = list(read_tweets(PROJECT_ROOT / "data" / "demo" / "tweets.csv"))
    normal = [
        tweet_payload(
            f"n-{row['id']}",
            row["text"],
            brand="airparadis",
            created_at=now_iso(-900 + 900 * n / len(rows) - 30),
        )
        for n, row in enumerate(rows)
    ]
    produce(bootstrap, env["BADBUZZ_TOPIC_RAW"], normal)
    worker = start_worker(env)
    events = Collector(bootstrap, env["BADBUZZ_TOPIC_SENTIMENT"])
    alerts = Collector(bootstrap, env["BADBUZZ_TOPIC_ALERTS"])
    events.poll_until(lambda m: len(m) >= len(normal), timeout=90, alive=lambda: worker.alive)
    assert alerts.poll_until(lambda m: False, timeout=5) == [], "normal traffic raised an alert"

    produce(bootstrap, env["BADBUZZ_TOPIC_RAW"], burst("b", 60, "airparadis"))
    sent_at = time.monotonic()
    got = alerts.poll_until(lambda m: len(m) >= 1, timeout=60, alive=lambda: worker.alive)
    assert time.monotonic() - sent_at < 30
    alerts.poll_until(lambda m: False, timeout=5)
    assert len(got) == 1, got
    alert = got[0]
    assert (alert["kind"], alert["scope"], alert["status"]) == (
        "negative_sentiment",
        "airparadis",
        "raised",
    )
    assert alert["count"] >= 15 and alert["share"] >= 0.6
    assert alert["examples"] and alert["examples"][0]["tweet_id"].startswith("b-")
    events.close()
    alerts.close()


def feedback(tweet_id: str, reported_at: str, brand: str) -> tuple[bytes, bytes]:
    report = {
        "tweet_id": tweet_id,
        "verdict": "wrong",
        "predicted_label": "positive",
        "text": "not a compliment at all",
        "brand": brand,
        "reported_at": reported_at,
    }
    return tweet_id.encode(), json.dumps(report).encode()


def test_three_wrong_predictions_in_five_minutes_alert_and_spread_ones_do_not(
    env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
    base = datetime.now(UTC) - timedelta(minutes=30)
    spread = [
        feedback(f"s-{n}", (base + timedelta(minutes=7 * n)).isoformat(), "spread")
        for n in range(3)
    ]
    close = [
        feedback(f"c-{n}", (base + timedelta(minutes=20, seconds=40 * n)).isoformat(), "close")
        for n in range(3)
    ]
    produce(bootstrap, env["BADBUZZ_TOPIC_FEEDBACK"], spread + close)
    worker = start_worker(env)
    alerts = Collector(bootstrap, env["BADBUZZ_TOPIC_ALERTS"])
    got = alerts.poll_until(lambda m: len(m) >= 1, timeout=60, alive=lambda: worker.alive)
    alerts.poll_until(lambda m: False, timeout=5)
    assert len(raised(got, "negative_feedback", "close")) == 1
    assert raised(got, "negative_feedback", "spread") == []

    labelled = Collector(bootstrap, env["BADBUZZ_TOPIC_FEEDBACK_LABELLED"])
    rows = labelled.poll_until(lambda m: len(m) >= 6, timeout=30)
    assert {row["label"] for row in rows} == {"negative"}
    assert {row["tweet_id"] for row in rows} == {f"{p}-{n}" for p in "sc" for n in range(3)}
    alerts.close()
    labelled.close()


def test_a_worker_restarted_mid_burst_does_not_raise_the_same_alert_twice(
    env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
    produce(bootstrap, env["BADBUZZ_TOPIC_RAW"], burst("first", 40, "airparadis"))
    first = start_worker(env, name="first")
    alerts = Collector(bootstrap, env["BADBUZZ_TOPIC_ALERTS"])
    alerts.poll_until(lambda m: len(m) >= 1, timeout=60, alive=lambda: first.alive)
    time.sleep(3)  # let the worker commit, as it does every second
    first.kill()

    produce(bootstrap, env["BADBUZZ_TOPIC_RAW"], burst("second", 40, "airparadis"))
    second = start_worker(env, name="second")
    events = Collector(bootstrap, env["BADBUZZ_TOPIC_SENTIMENT"])
    events.poll_until(
        lambda m: any(e["tweet_id"] == "second-39" for e in m),
        timeout=90,
        alive=lambda: second.alive,
    )
    got = alerts.poll_until(lambda m: False, timeout=8)
    assert len(raised(got, "negative_sentiment", "airparadis")) == 1, got
    alerts.close()
    events.close()
