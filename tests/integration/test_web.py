"""The HTTP API over real HTTP against a running worker and a real broker: scoring, the
token guard, body limits, and feedback that really reaches its topic and raises an alert."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from model import SentimentModel
from model.text import MAX_TEXT_CHARS
from tests.support import Collector, WorkerProcess

pytestmark = pytest.mark.integration

TOKEN = "test-token-7f3a9c1e5b2d4086"
MAX_BODY = 4096
JSON = {"Content-Type": "application/json"}
AUTH = {**JSON, "Authorization": f"Bearer {TOKEN}"}


def post(
    worker: WorkerProcess, path: str, document: object, headers: dict[str, str] = JSON
) -> tuple[int, dict[str, Any]]:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    status, _, text = worker.request(path, body, headers)
    return status, json.loads(text)


def wrong_report(n: int) -> dict[str, str]:
    return {
        "tweet_id": f"web-{n}",
        "verdict": "wrong",
        "predicted_label": "positive",
        "text": "thanks for losing my bag, great job",
        "brand": "webscope",
        "reporter": f"user-{n}",
        "source": "kafka:User:not-the-web-front",  # the front stamps its own
    }


@pytest.fixture
def web_env(unique_env: dict[str, str]) -> dict[str, str]:
    return {**unique_env, "BADBUZZ_WEB_MAX_BODY_BYTES": str(MAX_BODY)}


def test_predict_scores_texts_and_refuses_bad_bodies_with_the_reason(
    web_env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    worker = start_worker({**web_env, "BADBUZZ_WEB_TOKEN": TOKEN})
    worker.wait_ready()
    version = SentimentModel.load().version

    status, one = post(worker, "/predict", {"text": "I love this airline, best crew ever"})
    assert status == 200
    assert one["model_version"] == version
    [prediction] = one["predictions"]
    assert prediction["label"] == "positive"
    probabilities = [prediction[f"p_{name}"] for name in one["classes"]]
    assert sum(probabilities) == pytest.approx(1.0)
    assert set(one["prior"]) == set(one["classes"]) and sum(one["prior"].values()) == pytest.approx(
        1.0, abs=1e-3
    )

    texts = [
        "worst airline ever, lost my luggage, rude staff",
        "great flight, thank you!",
        "the flight was on time",
    ]
    status, many = post(worker, "/predict", {"texts": texts})
    assert status == 200
    assert [(p["text"], p["label"]) for p in many["predictions"]] == [
        (texts[0], "negative"),
        (texts[1], "positive"),
        (texts[2], "neutral"),  # a factual tweet is not a complaint
    ]

    bad = {
        b"": (400, "empty_payload"),
        b"{not json": (400, "malformed_json"),
        b"[1, 2]": (422, "not_an_object"),
        b'{"text": "   "}': (422, "empty_text"),
        b'{"text": "a", "texts": ["b"]}': (422, "invalid_field"),
        json.dumps({"texts": ["a"] * 65}).encode(): (422, "too_many_texts"),
        json.dumps({"text": "a" * (MAX_TEXT_CHARS + 1)}).encode(): (422, "field_too_long"),
        b"[" * 1_100 + b"]" * 1_100: (400, "malformed_json"),
        json.dumps({"text": "a" * MAX_BODY}).encode(): (413, "oversized"),
    }
    for body, (expected_status, reason) in bad.items():
        status, problem = post(worker, "/predict", body)
        assert (status, problem["error"]) == (expected_status, reason), body[:40]
        assert problem["detail"]
    for headers in ({}, {"Content-Type": "text/plain"}):
        status, problem = post(worker, "/predict", {"text": "fine"}, headers)
        assert (status, problem["error"]) == (415, "unsupported_media_type")

    status, headers, page = worker.request("/")
    assert status == 200 and "badbuzz worker" in page and "predict-form" in page
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    status, _, document = worker.request("/openapi.json")
    paths = json.loads(document)["paths"]
    assert {"/predict", "/feedback", "/status", "/metrics"} <= set(paths)
    for path, operations in paths.items():
        if "get" in operations:
            assert worker.request(path)[0] == 200, path  # ready: wait_ready saw it


def test_feedback_needs_the_token_and_accepted_reports_raise_the_feedback_alert(
    web_env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    bootstrap = web_env["KAFKA_BOOTSTRAP_SERVERS"]
    worker = start_worker({**web_env, "BADBUZZ_WEB_TOKEN": TOKEN})
    worker.wait_ready()

    assert post(worker, "/feedback", wrong_report(0))[0] == 401
    not_utf8 = {**JSON, "Authorization": "Bearer \xff\xfe"}  # sent as latin-1: bytes FF FE
    assert post(worker, "/feedback", wrong_report(0), not_utf8)[0] == 401
    status, problem = post(worker, "/feedback", wrong_report(0), {**JSON, "Authorization": "x"})
    assert status == 401
    wrong_token = {**JSON, "Authorization": f"Bearer {TOKEN[:-1]}X"}
    assert post(worker, "/feedback", wrong_report(0), wrong_token) == (
        401,
        {"error": "unauthorized", "detail": "invalid bearer token"},
    )
    assert post(worker, "/feedback", b"x" * (MAX_BODY + 1), AUTH)[0] == 413
    refused = {
        b"{oops": (400, "malformed_json"),
        b'{"verdict": "wrong"}': (422, "invalid_field"),
        b'{"tweet_id": "1", "verdict": "meh"}': (422, "invalid_field"),
    }
    for body, expected in refused.items():
        status, problem = post(worker, "/feedback", body, AUTH)
        assert (status, problem["error"]) == expected, body

    for n in range(3):
        status, accepted = post(worker, "/feedback", wrong_report(n), AUTH)
        assert status == 202
        assert accepted["tweet_id"] == f"web-{n}" and accepted["verdict"] == "wrong"

    feedback = Collector(bootstrap, web_env["BADBUZZ_TOPIC_FEEDBACK"])
    labelled = Collector(bootstrap, web_env["BADBUZZ_TOPIC_FEEDBACK_LABELLED"])
    alerts = Collector(bootstrap, web_env["BADBUZZ_TOPIC_ALERTS"])
    on_topic = feedback.poll_until(lambda m: len(m) >= 3, timeout=30)
    assert sorted(m["tweet_id"] for m in on_topic) == ["web-0", "web-1", "web-2"]
    rows = labelled.poll_until(lambda m: len(m) >= 3, timeout=60, alive=lambda: worker.alive)
    expected_rows = {(f"web-{n}", "negative") for n in range(3)}
    assert {(r["tweet_id"], r["label"]) for r in rows} == expected_rows
    assert {(r["source"], r["reporter"]) for r in rows} == {("http", f"user-{n}") for n in range(3)}
    got = alerts.poll_until(lambda m: len(m) >= 1, timeout=60, alive=lambda: worker.alive)
    assert [(a["kind"], a["scope"], a["status"]) for a in got] == [
        ("negative_feedback", "webscope", "raised")
    ]
    status, _, report = worker.request("/status")
    open_alerts = json.loads(report)["open_alerts"]
    assert [(a["kind"], a["scope"]) for a in open_alerts] == [("negative_feedback", "webscope")]

    worker.stop()
    assert TOKEN not in (worker.workdir / "worker.log").read_text()
    for collector in (feedback, labelled, alerts):
        collector.close()


def test_without_a_token_writes_are_refused_and_reads_stay_open(
    web_env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    worker = start_worker(web_env)
    worker.wait_ready()
    status, problem = post(worker, "/feedback", wrong_report(0))
    assert status == 401 and "BADBUZZ_WEB_TOKEN" in problem["detail"]
    status, problem = post(worker, "/feedback", wrong_report(0), AUTH)
    assert status == 401 and "BADBUZZ_WEB_TOKEN" in problem["detail"]
    assert post(worker, "/predict", {"text": "fine"})[0] == 200
    assert worker.request("/metrics")[0] == 200


def test_protected_reads_take_the_token_from_a_file(
    web_env: dict[str, str], start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    token_file = tmp_path / "web-token"
    token_file.write_text(TOKEN + "\n")
    worker = start_worker(
        {
            **web_env,
            "BADBUZZ_WEB_TOKEN_FILE": str(token_file),
            "BADBUZZ_WEB_PROTECT_READS": "true",
        }
    )
    worker.wait_ready()
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    for path in ("/metrics", "/status"):
        assert worker.request(path)[0] == 401, path
        assert worker.request(path, headers=bearer)[0] == 200, path
    assert post(worker, "/predict", {"text": "fine"})[0] == 401
    assert post(worker, "/predict", {"text": "fine"}, AUTH)[0] == 200
    assert worker.request("/health")[0] == 200
    assert worker.request("/")[0] == 200  # the page itself holds no data
