"""The endpoints over real HTTP on Faust's aiohttp application, without a broker: whatever
the body and the headers, a client error is a 4xx with its reason, never a 500; the server
listens where it is told and serves the routes `handlers.ROUTES` declares."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestServer, make_mocked_request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import SentimentModel
from model.text import MAX_TEXT_CHARS
from schemas import Feedback
from stream.app import create_app
from stream.kafka import KafkaConnection
from stream.pipeline.intake import Rejection
from stream.pipeline.steps import Pipeline
from stream.records import Outgoing, UndecodableBatch
from stream.settings import Settings
from stream.web import StatusBoard, WebApi, register_web
from stream.web.api import PredictResponse, http_status
from stream.web.handlers import ROUTES, not_json
from stream.web.openapi import openapi_document
from tests.support import hostile_payloads

TOKEN = b"0123456789abcdef-token"
MAX_BODY = 16_384
MAX_TEXTS = 8
JSON = b"application/json"


class RecordingOutputs:
    """Feedback is 'delivered' at once; what was sent is kept for the test to read."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def deliver(self, messages: Sequence[Outgoing]) -> None:
        self.sent += messages


async def ignore_undecodable(batch: UndecodableBatch) -> None:
    """This app never consumes."""


class Server:
    """A worker's web routes served on loopback, driven from the test's own event loop."""

    def __init__(self) -> None:
        self.settings = Settings(
            web_token=TOKEN.decode(),
            web_max_body_bytes=MAX_BODY,
            web_predict_max_texts=MAX_TEXTS,
            label_shift=False,
        )
        app = create_app(
            self.settings, KafkaConnection.from_settings(self.settings), ignore_undecodable
        )
        pipeline = Pipeline.from_settings(
            self.settings, SentimentModel.load(), lambda: datetime.now(UTC)
        )
        self.outputs = RecordingOutputs()
        api = WebApi(app, self.settings, pipeline, self.outputs, StatusBoard(), lambda: True)  # type: ignore[arg-type]
        register_web(api)
        self.loop = asyncio.new_event_loop()
        self.server = TestServer(app.web.web_app, loop=self.loop)
        self.loop.run_until_complete(self.server.start_server())

    def post(
        self, path: str, body: bytes, headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> tuple[int, bytes]:
        return self.loop.run_until_complete(self._raw_post(path, body, headers))

    async def _raw_post(
        self, path: str, body: bytes, headers: Sequence[tuple[bytes, bytes]]
    ) -> tuple[int, bytes]:
        """Bytes on the wire, so that headers can hold what no client library would send."""
        reader, writer = await asyncio.open_connection(self.server.host, self.server.port)
        head = [f"POST {path} HTTP/1.1".encode(), b"Host: test", b"Connection: close"]
        head += [name + b": " + value for name, value in headers]
        head.append(b"Content-Length: " + str(len(body)).encode())
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        await writer.drain()
        response = await reader.read()
        writer.close()
        status_line, _, rest = response.partition(b"\r\n")
        return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]

    def close(self) -> None:
        self.loop.run_until_complete(self.server.close())
        self.loop.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.close()


def problem(body: bytes) -> tuple[str, str]:
    document = json.loads(body)
    return document["error"], document["detail"]


AUTH = (b"Authorization", b"Bearer " + TOKEN)
AS_JSON = (b"Content-Type", JSON)


def test_a_body_not_sent_as_json_is_refused_with_415(server: Server) -> None:
    body = json.dumps({"text": "fine"}).encode()
    assert server.post("/predict", body, [AS_JSON])[0] == 200
    assert server.post("/predict", body, [(b"Content-Type", JSON + b"; charset=utf-8")])[0] == 200
    for content_type in (None, b"text/plain", b"application/x-www-form-urlencoded"):
        headers = [] if content_type is None else [(b"Content-Type", content_type)]
        for path in ("/predict", "/feedback"):
            status, answer = server.post(path, body, [*headers, AUTH])
            assert status == 415, (path, content_type)
            error, detail = problem(answer)
            assert error == "unsupported_media_type" and "application/json" in detail


def test_predict_bounds_the_number_and_the_length_of_texts(server: Server) -> None:
    at_limits = {"texts": ["x" * MAX_TEXT_CHARS] * 2}
    assert server.post("/predict", json.dumps(at_limits).encode(), [AS_JSON])[0] == 200
    too_long = {"texts": ["fine", "x" * (MAX_TEXT_CHARS + 1)]}
    status, answer = server.post("/predict", json.dumps(too_long).encode(), [AS_JSON])
    assert status == 422
    error, detail = problem(answer)
    assert error == "field_too_long"
    assert detail.startswith("texts.1:") and str(MAX_TEXT_CHARS) in detail
    too_many = {"texts": ["fine"] * (MAX_TEXTS + 1)}
    status, answer = server.post("/predict", json.dumps(too_many).encode(), [AS_JSON])
    assert (status, problem(answer)[0]) == (422, "too_many_texts")


def test_predict_reads_each_text_in_its_language_and_flags_the_ones_no_model_reads(
    server: Server,
) -> None:
    texts = [
        "Vol annulé sans explication, personne au comptoir, c'est une honte",
        "worst airline ever, they lost my luggage",
        "Der Flug wurde ohne Erklärung gestrichen, eine Frechheit",
    ]
    status, answer = server.post("/predict", json.dumps({"texts": texts}).encode(), [AS_JSON])
    assert status == 200
    french, english, german = json.loads(answer)["predictions"]
    model = SentimentModel.load()
    assert (french["lang"], french["label"], french["scored"]) == ("fr", "negative", True)
    assert french["model_version"] == model.version_of("fr") != model.version
    assert (english["lang"], english["label"], english["model_version"]) == (
        "en",
        "negative",
        model.version,
    )
    assert (german["lang"], german["label"], german["scored"]) == (
        "de",
        "unsupported_language",
        False,
    )
    assert german["p_positive"] is None and german["p_negative"] is None

    told = {"text": "Vol annulé, personne au comptoir", "lang": "de-DE"}
    status, answer = server.post("/predict", json.dumps(told).encode(), [AS_JSON])
    [prediction] = json.loads(answer)["predictions"]
    assert (prediction["lang"], prediction["label"]) == ("de", "unsupported_language")


def test_an_authorization_header_that_is_not_utf8_is_a_401(server: Server) -> None:
    report = json.dumps({"tweet_id": "1", "verdict": "wrong"}).encode()
    for value in (b"Bearer \xff\xfe\xfa", b"Bearer " + TOKEN[:-1] + b"\xe9", b"\xc3(\xa0"):
        status, answer = server.post("/feedback", report, [AS_JSON, (b"Authorization", value)])
        assert (status, problem(answer)[0]) == (401, "unauthorized"), value
    assert server.post("/feedback", report, [AS_JSON, AUTH])[0] == 202


def test_json_python_refuses_is_a_400_on_both_endpoints(server: Server) -> None:
    for body in (b'{"text": ' + b"1" * 5_000 + b"}", b"[" * 1_100 + b"]" * 1_100):
        for path in ("/predict", "/feedback"):
            status, answer = server.post(path, body, [AS_JSON, AUTH])
            assert (status, problem(answer)[0]) == (400, "malformed_json"), path


HEADER_VALUES = st.binary(max_size=40).map(lambda v: v.replace(b"\r", b"").replace(b"\n", b""))
CONTENT_TYPES = st.sampled_from([JSON, JSON + b"; charset=latin-1", b"text/plain", b"*/*"])
ENCODINGS = st.sampled_from([b"gzip", b"deflate", b"br", b"identity", b"x"])
PREDICT_BODIES = st.fixed_dictionaries(
    {},
    optional={
        "text": st.text(max_size=50) | st.just("y" * (MAX_TEXT_CHARS + 1)) | st.integers(),
        "texts": st.lists(st.text(max_size=20), max_size=MAX_TEXTS + 2),
        "x": st.none(),
    },
).map(lambda document: json.dumps(document).encode())


ACCEPTED = {"/predict": (200, PredictResponse), "/feedback": (202, Feedback)}
# what aiohttp's HTTP parser refuses before any handler runs, with a plain-text 400: a header
# value holding a control character, and a body it cannot undo its Content-Encoding for
# (brotli is not installed; a deflate body that is not one)
PARSER_ENCODINGS = {b"br", b"deflate"}
SAID_JSON = {JSON, JSON + b"; charset=latin-1"}
NOT_SAID_JSON = {None, b"text/plain", b"*/*"}


def forbidden_in_a_header(value: bytes | None) -> bool:
    return value is not None and any((c < 0x20 and c != 0x09) or c == 0x7F for c in value)


def status_of(error: str) -> int:
    """The status a refusal carries, by the reason it gives."""
    return 401 if error == "unauthorized" else http_status(Rejection(error, ""))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    path=st.sampled_from(["/predict", "/feedback"]),
    body=hostile_payloads | PREDICT_BODIES | st.just(b"{" * (MAX_BODY + 1)),
    content_type=st.none() | CONTENT_TYPES | HEADER_VALUES,
    authorization=st.none() | st.just(b"Bearer " + TOKEN) | HEADER_VALUES.map(b"Bearer ".__add__),
    encoding=st.none() | ENCODINGS,
)
def test_any_body_and_headers_get_a_documented_answer_and_a_refusal_says_why(
    server: Server,
    path: str,
    body: bytes,
    content_type: bytes | None,
    authorization: bytes | None,
    encoding: bytes | None,
) -> None:
    named = {b"Content-Type": content_type, b"Authorization": authorization}
    named[b"Content-Encoding"] = encoding
    headers = [(name, value) for name, value in named.items() if value is not None]
    status, answer = server.post(path, body, headers)
    if not answer.startswith(b"{"):  # refused by the HTTP parser, before the handlers
        assert status == 400, (status, answer[:200])
        assert encoding in PARSER_ENCODINGS or any(map(forbidden_in_a_header, named.values()))
        return
    documented = openapi_document(server.settings, ROUTES)["paths"][path]["post"]["responses"]
    assert str(status) in documented, (status, answer[:200])
    accepted_status, accepted = ACCEPTED[path]
    if status == accepted_status:
        accepted.model_validate_json(answer)
    else:
        error, detail = problem(answer)
        assert detail and status == status_of(error), (status, error)
    # what the headers alone decide, in the order the handlers check them
    if path == "/feedback" and authorization != AUTH[1]:
        assert status == 401
    elif content_type in NOT_SAID_JSON:
        assert status == 415
    elif content_type in SAID_JSON and len(body) > MAX_BODY and encoding in (None, b"identity"):
        assert status == 413


def test_a_content_type_the_email_parser_chokes_on_is_refused_not_crashed() -> None:
    request = make_mocked_request("POST", "/predict", headers={"Content-Type": ";+*"})
    refused = not_json(request)
    assert refused is not None and refused.reason == "unsupported_media_type"
    ok = make_mocked_request("POST", "/predict", headers={"Content-Type": "Application/JSON; x"})
    assert not_json(ok) is None


def test_the_web_server_listens_on_loopback_unless_told_otherwise() -> None:
    assert Settings().web_host == "127.0.0.1"
    for told, bind in ((Settings(), "127.0.0.1"), (Settings(web_host="0.0.0.0"), "0.0.0.0")):
        app = create_app(told, KafkaConnection.from_settings(told), ignore_undecodable)
        assert app.conf.web_bind == bind


def test_every_declared_route_is_served_and_documented_as_declared() -> None:
    """One declaration (handlers.ROUTES): the server and /openapi.json both come from it."""
    declared_by = Settings(web_token=TOKEN.decode())
    app = create_app(declared_by, KafkaConnection.from_settings(declared_by), ignore_undecodable)
    register_web(WebApi(app, declared_by, None, None, StatusBoard(), lambda: True))  # type: ignore[arg-type]
    served = {
        (route.resource.canonical, route.method.lower())
        for route in app.web.web_app.router.routes()
        if route.resource is not None and route.method in {"GET", "POST"}
    }
    declared = {(route.path, route.method) for route in ROUTES}
    assert declared <= served
    documented = {
        (path, method)
        for path, operations in openapi_document(declared_by, ROUTES)["paths"].items()
        for method in operations
    }
    assert documented == declared
