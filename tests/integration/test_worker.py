"""The worker end to end on a real broker: scoring, dead letters, and crash recovery."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

import pytest

from model import SentimentModel
from tests.support import Collector, WorkerProcess, produce, tweet_payload

pytestmark = pytest.mark.integration

OBVIOUS = [
    ("pos-1", "I love Air Paradis, best flight ever! Thank you crew :)", "positive"),
    ("pos-2", "great service and a smooth landing, so happy with this airline", "positive"),
    ("neg-1", "worst flight ever, lost my luggage and the staff was so rude", "negative"),
    (
        "neg-2",
        "delayed for 5 hours again, I hate this airline, never flying with them again",
        "negative",
    ),
]


def ids_seen(messages: list[dict]) -> set[str]:
    return {message["tweet_id"] for message in messages}


def test_every_valid_tweet_gets_exactly_one_sentiment_event(
    unique_env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    bootstrap = unique_env["KAFKA_BOOTSTRAP_SERVERS"]
    filler = [tweet_payload(f"t-{n}", f"flight number {n} boarding now") for n in range(300)]
    produce(
        bootstrap,
        unique_env["BADBUZZ_TOPIC_RAW"],
        [tweet_payload(i, text, brand="airparadis") for i, text, _ in OBVIOUS] + filler,
    )
    worker = start_worker(unique_env)
    events = Collector(bootstrap, unique_env["BADBUZZ_TOPIC_SENTIMENT"])
    wanted = len(OBVIOUS) + len(filler)
    got = events.poll_until(lambda m: len(m) >= wanted, timeout=90, alive=lambda: worker.alive)
    events.poll_until(lambda m: False, timeout=3)  # anything extra would show up now
    assert len(got) == wanted, worker.log_tail()
    assert len(ids_seen(got)) == wanted
    labels = {m["tweet_id"]: m["label"] for m in got}
    assert {i: labels[i] for i, _, _ in OBVIOUS} == {i: label for i, _, label in OBVIOUS}
    by_id = {m["tweet_id"]: m for m in got}
    assert by_id["pos-1"]["brand"] == "airparadis"
    assert 0.0 <= by_id["neg-1"]["p_positive"] < 0.5 <= by_id["pos-1"]["p_positive"] <= 1.0
    assert by_id["pos-1"]["model_version"]
    events.close()


def test_each_tweet_is_read_in_its_language_and_a_lone_unsupported_one_stops_nothing(
    unique_env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    """A batch holding only a tweet no model reads (label shift on, the default) is one
    unsupported event; French goes to the French route, English to the bundle's model."""
    bootstrap, raw = unique_env["KAFKA_BOOTSTRAP_SERVERS"], unique_env["BADBUZZ_TOPIC_RAW"]
    worker = start_worker(unique_env)
    worker.wait_ready()
    events = Collector(bootstrap, unique_env["BADBUZZ_TOPIC_SENTIMENT"])
    produce(bootstrap, raw, [tweet_payload("es-1", "El vuelo fue cancelado", lang="es")])
    events.poll_until(lambda m: "es-1" in ids_seen(m), timeout=60, alive=lambda: worker.alive)
    produce(
        bootstrap,
        raw,
        [
            tweet_payload("fr-1", "Vol annulé et personne au comptoir, quelle honte"),
            tweet_payload("en-1", "worst flight ever, they lost my luggage", lang="en-GB"),
        ],
    )
    got = events.poll_until(
        lambda m: {"fr-1", "en-1"} <= ids_seen(m), timeout=60, alive=lambda: worker.alive
    )
    by_id = {m["tweet_id"]: m for m in got}
    model = SentimentModel.load()
    assert [(by_id[i]["lang"], by_id[i]["label"]) for i in ("es-1", "fr-1", "en-1")] == [
        ("es", "unsupported_language"),
        ("fr", "negative"),
        ("en", "negative"),
    ]
    assert by_id["es-1"]["scored"] is False and by_id["es-1"]["p_positive"] is None
    assert by_id["fr-1"]["model_version"] == model.version_of("fr") != model.version
    metrics = worker.metrics()
    assert metrics['badbuzz_tweets_language_total{lang="es",scored="false"}'] == 1
    assert metrics['badbuzz_tweets_language_total{lang="fr",scored="true"}'] == 1
    assert worker.alive
    events.close()


BAD_INPUTS: list[tuple[bytes | None, str]] = [
    (b'{"id": "x1", "text": "unterminated', "malformed_json"),
    (b'{"id": "x2", "text": "caf\xe9 \xff"}', "bad_encoding"),
    (json.dumps({"id": "x3"}).encode(), "missing_text"),
    (json.dumps({"id": "x4", "text": "  "}).encode(), "empty_text"),
    (json.dumps({"id": "x5", "text": 404}).encode(), "invalid_field"),
    (json.dumps({"id": "x6", "text": "a" * 40_000}).encode(), "oversized"),
    (b"[1, 2, 3]", "not_an_object"),
    (None, "empty_payload"),
]


def test_each_bad_input_becomes_one_dead_letter_and_the_worker_goes_on(
    unique_env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    bootstrap = unique_env["KAFKA_BOOTSTRAP_SERVERS"]
    raw = unique_env["BADBUZZ_TOPIC_RAW"]
    valid_before = [tweet_payload(f"ok-{n}", "on time and friendly crew") for n in range(5)]
    produce(bootstrap, raw, valid_before + [(b"bad", value) for value, _ in BAD_INPUTS])
    worker = start_worker(unique_env)
    letters = Collector(bootstrap, unique_env["BADBUZZ_TOPIC_DEADLETTER"])
    got = letters.poll_until(
        lambda m: len(m) >= len(BAD_INPUTS), timeout=90, alive=lambda: worker.alive
    )
    assert sorted(m["reason"] for m in got) == sorted(reason for _, reason in BAD_INPUTS)
    for letter in got:
        assert letter["source_topic"] == raw
        assert letter["detail"]
    encoded = next(m for m in got if m["reason"] == "bad_encoding")
    assert base64.b64decode(encoded["payload_base64"]) == BAD_INPUTS[1][0]
    oversized = next(m for m in got if m["reason"] == "oversized")
    assert oversized["payload_truncated"] and oversized["payload_size"] > 40_000

    produce(bootstrap, raw, [tweet_payload("after-bad", "still flying, still scoring")])
    events = Collector(bootstrap, unique_env["BADBUZZ_TOPIC_SENTIMENT"])
    scored = events.poll_until(
        lambda m: "after-bad" in ids_seen(m), timeout=60, alive=lambda: worker.alive
    )
    assert ids_seen(scored) == {f"ok-{n}" for n in range(5)} | {"after-bad"}
    assert worker.alive
    assert_metrics_tell_the_story(worker)
    letters.close()
    events.close()


def test_a_worker_killed_mid_stream_loses_no_accepted_tweet(
    unique_env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    bootstrap = unique_env["KAFKA_BOOTSTRAP_SERVERS"]
    total = 20_000
    produce(
        bootstrap,
        unique_env["BADBUZZ_TOPIC_RAW"],
        (tweet_payload(f"k-{n}", f"tweet {n} about my flight to Paris") for n in range(total)),
    )
    events = Collector(bootstrap, unique_env["BADBUZZ_TOPIC_SENTIMENT"])
    first = start_worker(unique_env, name="first")
    events.poll_until(lambda m: len(m) >= 2_000, timeout=90, alive=lambda: first.alive)
    first.kill()
    seen_before_kill = len(ids_seen(events.messages))
    assert seen_before_kill < total, "the kill came too late to test anything"

    second = start_worker(unique_env, name="second")
    got = events.poll_until(
        lambda m: len(ids_seen(m)) >= total, timeout=180, alive=lambda: second.alive
    )
    missing = {f"k-{n}" for n in range(total)} - ids_seen(got)
    assert not missing, f"{len(missing)} tweets lost, e.g. {sorted(missing)[:5]}"
    events.close()


def assert_metrics_tell_the_story(worker: WorkerProcess) -> None:
    """What operators see on /metrics, /health and /ready after the test above."""
    assert worker.get("/health")[0] == 200
    assert worker.get("/ready")[0] == 200
    deadline = time.monotonic() + 10  # counted right after delivery, a moment after we see it
    while worker.metrics().get("badbuzz_tweets_consumed_total") != len(BAD_INPUTS) + 6:
        assert time.monotonic() < deadline, worker.metrics()
        time.sleep(0.2)
    samples = worker.metrics()
    scored = sum(v for k, v in samples.items() if k.startswith("badbuzz_tweets_scored_total"))
    assert scored == 6
    for _, reason in BAD_INPUTS:
        assert samples[f'badbuzz_dead_letters_total{{reason="{reason}"}}'] == 1
    assert any(k.startswith("badbuzz_model_info{") for k in samples)
    assert samples["badbuzz_inference_seconds_count"] >= 1
    assert samples["badbuzz_end_to_end_latency_seconds_count"] == len(BAD_INPUTS) + 6
    assert samples["badbuzz_predicted_negative_share"] == pytest.approx(
        samples.get('badbuzz_tweets_scored_total{label="negative"}', 0.0) / 6
    )
    assert samples["badbuzz_drift_psi"] > 0  # six tweets cannot look like the reference
    assert 0.0 <= samples["badbuzz_oov_token_rate"] <= 1.0
