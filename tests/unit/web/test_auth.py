"""The web side's pure parts: token guard, request parsing, status board, OpenAPI document."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from schemas import Alert, AlertKind, AlertStatus, DeadLetter, Label
from stream.app import create_app
from stream.kafka import KafkaConnection
from stream.pipeline.intake import Rejection, parse_message
from stream.pipeline.steps import Predicted
from stream.records import UndecodableBatch
from stream.settings import Settings
from stream.web import register_web
from stream.web.api import PredictRequest, http_status, predictions, too_many_texts
from stream.web.auth import Guard, load_token
from stream.web.handlers import ROUTES
from stream.web.openapi import openapi_document
from stream.web.status import StatusBoard

TOKEN = "0123456789abcdef-token"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_the_web_server_listens_on_loopback_unless_told_otherwise() -> None:
    assert Settings().web_host == "127.0.0.1"
    for settings, bind in ((Settings(), "127.0.0.1"), (Settings(web_host="0.0.0.0"), "0.0.0.0")):
        app = create_app(settings, KafkaConnection.from_settings(settings), ignore_undecodable)
        assert app.conf.web_bind == bind


async def ignore_undecodable(batch: UndecodableBatch) -> None:
    """These tests build the app but never consume."""


def test_the_token_comes_from_the_setting_or_its_file_and_is_never_printed(
    tmp_path: Path,
) -> None:
    assert load_token(Settings()) is None
    settings = Settings(web_token=TOKEN)
    assert load_token(settings) == TOKEN.encode()
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    assert load_token(Settings(web_token_file=token_file)) == TOKEN.encode()


@pytest.mark.parametrize(
    ("file_text", "env_token", "message"),
    [
        ("", None, "BADBUZZ_WEB_TOKEN_FILE must hold at least 16"),
        (None, "short", "BADBUZZ_WEB_TOKEN must hold at least 16"),
        (TOKEN, TOKEN, "not both"),
        ("missing", None, "No such file"),
    ],
)
def test_an_unusable_token_setting_stops_the_worker_at_start(
    tmp_path: Path, file_text: str | None, env_token: str | None, message: str
) -> None:
    token_file = tmp_path / "token"
    if file_text not in (None, "missing"):
        token_file.write_text(file_text)
    settings = Settings(
        web_token=env_token, web_token_file=None if file_text is None else token_file
    )
    with pytest.raises(ValueError, match=message):
        load_token(settings)


def test_the_guard_fails_closed_and_checks_the_scheme_and_the_token() -> None:
    assert "BADBUZZ_WEB_TOKEN" in (Guard(None).refusal(f"Bearer {TOKEN}") or "")
    guard = Guard(TOKEN.encode())
    assert guard.refusal(None) is not None
    assert guard.refusal("Bearer") is not None
    assert guard.refusal(f"Basic {TOKEN}") is not None
    assert guard.refusal(f"Bearer {TOKEN}x") == "invalid bearer token"
    assert guard.refusal("Bearer jeton-délicat-ünïcode") == "invalid bearer token"
    assert guard.refusal(f"Bearer {TOKEN}") is None
    assert guard.refusal(f"bearer {TOKEN}") is None


def parse_predict(body: object) -> PredictRequest | Rejection:
    return parse_message(json.dumps(body).encode(), PredictRequest, 10_000)


def test_a_predict_body_holds_one_text_or_a_bounded_list_of_non_blank_texts() -> None:
    one = parse_predict({"text": "late again"})
    assert isinstance(one, PredictRequest) and one.all_texts == ["late again"]
    many = parse_predict({"texts": ["a", "b", "c"]})
    assert isinstance(many, PredictRequest) and many.all_texts == ["a", "b", "c"]
    assert too_many_texts(many, 3) is None
    assert (too_many_texts(many, 2) or Rejection("", "")).reason == "too_many_texts"
    refused = {
        "both": parse_predict({"text": "a", "texts": ["b"]}),
        "neither": parse_predict({}),
        "blank": parse_predict({"text": "   "}),
        "blank_in_list": parse_predict({"texts": ["ok", " "]}),
        "empty_list": parse_predict({"texts": []}),
        "number": parse_predict({"text": 3}),
        "unknown_field": parse_predict({"text": "a", "txt": "b"}),
    }
    assert all(isinstance(r, Rejection) for r in refused.values()), refused
    assert refused["blank"].reason == "empty_text"  # type: ignore[union-attr]


def test_each_rejection_maps_to_the_http_status_a_client_can_act_on() -> None:
    statuses = {
        reason: http_status(Rejection(reason, ""))
        for reason in ("oversized", "empty_payload", "malformed_json", "bad_encoding")
    }
    assert statuses == {
        "oversized": 413,
        "empty_payload": 400,
        "malformed_json": 400,
        "bad_encoding": 400,
    }
    for reason in ("not_an_object", "invalid_field", "missing_text", "too_many_texts"):
        assert http_status(Rejection(reason, "")) == 422


def test_predictions_carry_the_pipelines_labels_and_every_class_probability() -> None:
    predicted = Predicted(
        classes=("negative", "neutral", "positive"),
        probabilities=np.array([[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]]),
        labels=[Label.POSITIVE, Label.NEGATIVE],
        prior=np.array([0.6, 0.2, 0.2]),
    )
    got = predictions(["x", "y"], predicted)
    assert [(p.text, p.label.value) for p in got] == [("x", "positive"), ("y", "negative")]
    assert [(p.p_negative, p.p_neutral, p.p_positive) for p in got] == [
        (0.1, 0.2, 0.7),
        (0.6, 0.3, 0.1),
    ]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throughput_counts_the_recent_window_only() -> None:
    clock = FakeClock()
    board = StatusBoard(clock=clock, throughput_window_s=10)
    assert board.tweets_per_s() == 0.0
    clock.now += 2
    board.record_batch(100)
    assert board.tweets_per_s() == 50.0  # 2 s since start, shorter than the window
    clock.now += 8
    board.record_batch(100)
    assert board.tweets_per_s() == 20.0
    clock.now += 9
    assert board.tweets_per_s() == 10.0  # the first batch left the window
    clock.now += 30
    assert board.tweets_per_s() == 0.0


def letter(offset: int) -> DeadLetter:
    return DeadLetter(
        source_topic="tweets.raw",
        partition=1,
        offset=offset,
        reason="malformed_json",
        detail="Expecting value",
        payload_base64="",
        payload_size=0,
        payload_truncated=False,
        rejected_at=NOW,
    )


def test_the_last_dead_letters_are_kept_newest_first_and_bounded() -> None:
    board = StatusBoard(max_dead_letters=3)
    board.record_dead_letters([letter(n) for n in range(5)])
    assert [d.offset for d in board.dead_letters()] == [4, 3, 2]
    assert board.dead_letters()[0].reason == "malformed_json"


def alert(scope: str, status: AlertStatus, kind: AlertKind = AlertKind.NEGATIVE_SENTIMENT) -> Alert:
    return Alert(
        alert_id=f"{kind}-{scope}",
        kind=kind,
        status=status,
        scope=scope,
        window_start=NOW,
        window_end=NOW,
        count=20,
        total=25,
        share=0.8,
        threshold="share >= 0.6",
        raised_at=NOW,
    )


def test_an_alert_is_open_from_raised_until_resolved_and_the_list_is_bounded() -> None:
    board = StatusBoard(max_open_alerts=2)
    board.record_alerts([alert("a", AlertStatus.RAISED)])
    board.record_alerts([alert("a", AlertStatus.RAISED, AlertKind.NEGATIVE_FEEDBACK)])
    assert [(a.scope, a.kind) for a in board.open_alerts()] == [
        ("a", AlertKind.NEGATIVE_FEEDBACK),
        ("a", AlertKind.NEGATIVE_SENTIMENT),
    ]
    board.record_alerts([alert("a", AlertStatus.RESOLVED)])
    assert [a.kind for a in board.open_alerts()] == [AlertKind.NEGATIVE_FEEDBACK]
    board.record_alerts([alert("b", AlertStatus.RAISED), alert("c", AlertStatus.RAISED)])
    assert [a.scope for a in board.open_alerts()] == ["c", "b"]


def test_openapi_documents_every_endpoint_and_which_ones_take_the_token() -> None:
    document = openapi_document(Settings(), ROUTES)
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    assert set(paths) == {
        "/",
        "/static/page.js",
        "/static/page.css",
        "/predict",
        "/feedback",
        "/status",
        "/metrics",
        "/health",
        "/ready",
        "/openapi.json",
    }
    assert document["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    feedback = paths["/feedback"]["post"]
    assert feedback["security"] == [{"bearerToken": []}]
    assert {"202", "400", "401", "413", "415", "422", "503"} == set(feedback["responses"])
    assert "16384 bytes" in feedback["responses"]["413"]["description"]
    assert "tweets.feedback" in feedback["summary"]
    assert paths["/predict"]["post"]["security"] == []
    schemas = document["components"]["schemas"]
    assert schemas["FeedbackVerdict"]["enum"] == ["wrong", "correct"]
    assert {"tweet_id", "verdict"} <= set(schemas["Feedback"]["required"])
    assert "label" in schemas["Prediction"]["properties"]

    protected = openapi_document(Settings(web_protect_reads=True), ROUTES)["paths"]
    for path, method in (("/predict", "post"), ("/metrics", "get"), ("/status", "get")):
        assert protected[path][method]["security"] == [{"bearerToken": []}], path
        assert "401" in protected[path][method]["responses"]
    assert protected["/health"]["get"]["security"] == []


def test_the_guard_never_shows_its_token() -> None:
    guard = Guard(TOKEN.encode())
    for shown in (repr(guard), str(guard), f"{guard}", repr([guard])):
        assert TOKEN not in shown and "token=<hidden>" in shown
    assert repr(Guard(None)) == "Guard(token=None)"


def test_the_guard_refuses_a_header_of_any_bytes_without_raising() -> None:
    guard = Guard(TOKEN.encode())
    for header in ("Bearer \udcff\udcfe", "Bearer \ud800", f"Bearer {TOKEN}\udce9", "\udcc3("):
        assert guard.refusal(header) is not None


def test_every_declared_route_is_served_and_documented_as_declared() -> None:
    """One declaration (handlers.ROUTES): the server and /openapi.json both come from it."""
    settings = Settings(web_token=TOKEN)
    app = create_app(settings, KafkaConnection.from_settings(settings), ignore_undecodable)
    register_web(app, settings, None, None, StatusBoard(), lambda: True)  # type: ignore[arg-type]
    served = {
        (route.resource.canonical, route.method.lower())
        for route in app.web.web_app.router.routes()
        if route.resource is not None and route.method in {"GET", "POST"}
    }
    declared = {(route.path, route.method) for route in ROUTES}
    assert declared <= served
    documented = {
        (path, method)
        for path, operations in openapi_document(settings, ROUTES)["paths"].items()
        for method in operations
    }
    assert documented == declared
