"""The worker's web endpoints, on Faust's own web server (aiohttp driver, same port as
/metrics): the HTTP API, the status page and the probes, each declared once in `ROUTES`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import faust
import structlog
from aiohttp.web import HTTPRequestEntityTooLarge
from aiohttp.web_protocol import RequestPayloadError
from confluent_kafka import KafkaException
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from schemas import Feedback
from stream.kafka.producer import OutputProducer
from stream.observability import metrics
from stream.pipeline.feedback import sent_over_http
from stream.pipeline.intake import Rejection, parse_message
from stream.pipeline.scoring import rounded_prior
from stream.pipeline.steps import Pipeline
from stream.records import Outgoing
from stream.settings import Settings
from stream.web.api import (
    PredictRequest,
    PredictResponse,
    Problem,
    StatusReport,
    http_status,
    predictions,
    problem,
    too_many_texts,
)
from stream.web.auth import Guard, load_token
from stream.web.openapi import openapi_document
from stream.web.routes import JSON, Access, Answer, Route
from stream.web.status import StatusBoard, lag_from, model_status

log = structlog.get_logger(__name__)

STATIC = files("stream.web") / "static"
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
PAGE_HEADERS = {
    **COMMON_HEADERS,
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "Referrer-Policy": "no-referrer",
}
UNAUTHORIZED_HEADERS = {**COMMON_HEADERS, "WWW-Authenticate": 'Bearer realm="badbuzz"'}


def answer(view: View, document: BaseModel, status: int = 200) -> Response:
    return view.json(document.model_dump(mode="json"), status=status, headers=COMMON_HEADERS)


def refused(view: View, request: Request, guard: Guard | None) -> Response | None:
    """A 401 when `guard` does not let the request through; None when there is no guard.
    Only the reason is logged, never a header's value."""
    if guard is None:
        return None
    reason = guard.refusal(request.headers.get("Authorization"))
    if reason is None:
        return None
    log.warning("web_request_refused", path=request.path, remote=request.remote, reason=reason)
    return view.json(
        Problem(error="unauthorized", detail=reason).model_dump(),
        status=401,
        headers=UNAUTHORIZED_HEADERS,
    )


async def body_of(request: Request, limit: int) -> bytes | Rejection:
    """The body, cut off by aiohttp at `client_max_size` (set to the same limit in app.py,
    and counted after a Content-Encoding is undone)."""
    try:
        return await request.read()
    except HTTPRequestEntityTooLarge:
        return Rejection("oversized", f"request body over the limit of {limit} bytes")
    except RequestPayloadError:  # a Content-Encoding (gzip...) the body does not hold
        return Rejection("bad_encoding", "body does not decode as its Content-Encoding says")


def not_json(request: Request) -> Rejection | None:
    """Bodies are JSON and say so: a form or a text/plain POST (what a browser may send
    across sites without asking) is refused before its body is read. The header is quoted
    in ASCII: it may hold any byte. Its media type is read here, not by aiohttp's
    `content_type`, whose parser (the standard library's e-mail one) raises on some headers."""
    media_type = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if media_type == JSON:
        return None
    return Rejection(
        "unsupported_media_type", f"Content-Type {media_type!a} is not accepted: send {JSON}"
    )


class WebApi:
    """The handlers of `ROUTES`, over the worker's collaborators."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        pipeline: Pipeline,
        outputs: OutputProducer,
        status: StatusBoard,
        scoring_alive: Callable[[], bool],
    ) -> None:
        self.app = app
        self.settings = settings
        self.pipeline = pipeline
        self.outputs = outputs
        self.status = status
        self.scoring_alive = scoring_alive
        self.openapi = openapi_document(settings, ROUTES)
        self.model_turn = asyncio.Lock()  # one web request on the model at a time: the
        # stream waits for at most one of them on the model's lock
        self.deliveries: set[asyncio.Future[None]] = set()

    async def index(self, view: View, request: Request) -> Response:
        return view.html((STATIC / "index.html").read_text(), headers=PAGE_HEADERS)

    async def page_script(self, view: View, request: Request) -> Response:
        script = (STATIC / "page.js").read_text()
        return view.text(script, content_type="text/javascript", headers=PAGE_HEADERS)

    async def page_style(self, view: View, request: Request) -> Response:
        style = (STATIC / "page.css").read_text()
        return view.text(style, content_type="text/css", headers=PAGE_HEADERS)

    async def openapi_json(self, view: View, request: Request) -> Response:
        return view.json(self.openapi, headers=COMMON_HEADERS)

    async def status_json(self, view: View, request: Request) -> Response:
        report = StatusReport(
            generated_at=datetime.now(UTC),
            model=model_status(self.pipeline.models),
            tweets_per_s=round(self.status.tweets_per_s(), 2),
            throughput_window_s=self.status.throughput_window_s,
            consumer_lag=lag_from(metrics.CONSUMER_LAG),
            open_alerts=self.status.open_alerts(),
            dead_letters=self.status.dead_letters(),
        )
        return answer(view, report)

    async def predict(self, view: View, request: Request, document: PredictRequest) -> Response:
        if rejection := too_many_texts(document, self.settings.web_predict_max_texts):
            return answer(view, problem(rejection), http_status(rejection))
        texts = document.all_texts
        async with self.model_turn:  # scored off the event loop, so the stream keeps flowing
            predicted = await asyncio.to_thread(
                self.pipeline.predict, texts, [document.lang] * len(texts)
            )
        return answer(
            view,
            PredictResponse(
                model_version=predicted.version,
                classes=list(predicted.classes),
                prior=rounded_prior(predicted.classes, predicted.prior),
                threshold=predicted.threshold,
                predictions=predictions(texts, predicted),
            ),
        )

    async def feedback(self, view: View, request: Request, document: Feedback) -> Response:
        settings = self.settings
        document = sent_over_http(document)
        delivery = asyncio.ensure_future(
            self.outputs.deliver(
                [Outgoing.of(settings.topic_feedback, document.tweet_id, document)]
            )
        )
        self.deliveries.add(delivery)  # kept until done: a timed-out one still gets delivered
        delivery.add_done_callback(self.deliveries.discard)
        try:
            await asyncio.wait_for(asyncio.shield(delivery), settings.web_feedback_timeout_s)
        except TimeoutError:
            detail = (
                f"Kafka did not acknowledge within {settings.web_feedback_timeout_s} s; "
                "the report may still arrive"
            )
            log.warning("feedback_not_acknowledged", tweet_id=document.tweet_id)
            return answer(view, Problem(error="not_acknowledged", detail=detail), 503)
        except KafkaException as exc:
            log.error("feedback_not_delivered", tweet_id=document.tweet_id, error=str(exc))
            detail = "Kafka refused the report; it was not recorded"
            return answer(view, Problem(error="not_delivered", detail=detail), 503)
        log.info("feedback_accepted", tweet_id=document.tweet_id, verdict=document.verdict.value)
        return answer(view, document, 202)

    async def metrics_page(self, view: View, request: Request) -> Response:
        return view.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    async def health(self, view: View, request: Request) -> Response:
        return view.json({"status": "ok"})

    async def ready(self, view: View, request: Request) -> Response:
        app = self.app
        is_ready = not app.rebalancing and app.consumer is not None and self.scoring_alive()
        return view.json({"ready": is_ready}, status=200 if is_ready else 503)


ROUTES: tuple[Route, ...] = (
    # "/" first: Faust mounts its own index at "/" when the server starts, and aiohttp
    # serves the first route registered for a path
    Route(
        "/",
        "get",
        WebApi.index,
        "The status page (its data comes from /status).",
        Access.OPEN,
        {"200": Answer("HTML.", media_type="text/html")},
    ),
    Route(
        "/static/page.js",
        "get",
        WebApi.page_script,
        "The status page's script.",
        Access.OPEN,
        {"200": Answer("JavaScript.", media_type="text/javascript")},
    ),
    Route(
        "/static/page.css",
        "get",
        WebApi.page_style,
        "The status page's style sheet.",
        Access.OPEN,
        {"200": Answer("CSS.", media_type="text/css")},
    ),
    Route(
        "/openapi.json",
        "get",
        WebApi.openapi_json,
        "This document.",
        Access.OPEN,
        {"200": Answer("OpenAPI 3.1.")},
    ),
    Route(
        "/status",
        "get",
        WebApi.status_json,
        "What the status page shows, as JSON.",
        Access.READ,
        {"200": Answer("This worker's status.", StatusReport)},
    ),
    Route(
        "/predict",
        "post",
        WebApi.predict,
        "Score one text or a list with the model the worker serves.",
        Access.READ,
        {
            "200": Answer("A prediction per text, in order.", PredictResponse),
            "422": Answer(
                "JSON that is not a predict request, a blank text, a text over the "
                "characters the model reads (field_too_long), too many texts (at most "
                "{settings.web_predict_max_texts}).",
                Problem,
            ),
        },
        body=PredictRequest,
    ),
    Route(
        "/feedback",
        "post",
        WebApi.feedback,
        "A verdict on a prediction, sent to `{settings.topic_feedback}`.",
        Access.WRITE,
        {
            "202": Answer("Acknowledged by Kafka; the accepted document.", Feedback),
            "422": Answer("Missing, invalid or overlong field (e.g. the verdict).", Problem),
            "503": Answer("Kafka did not acknowledge in time, or refused; retry.", Problem),
        },
        body=Feedback,
        body_limit=lambda settings: settings.max_payload_bytes,
        description="Validated exactly like the topic's messages.",
    ),
    Route(
        "/metrics",
        "get",
        WebApi.metrics_page,
        "Prometheus metrics.",
        Access.READ,
        {"200": Answer("Prometheus text format.", media_type="text/plain")},
    ),
    Route("/health", "get", WebApi.health, "Liveness.", Access.OPEN, {"200": Answer("Up.")}),
    Route(
        "/ready",
        "get",
        WebApi.ready,
        "Readiness: consuming and not rebalancing.",
        Access.OPEN,
        {"200": Answer("Ready."), "503": Answer("Not ready.")},
    ),
)


def view_of(route: Route, api: WebApi, guard: Guard | None) -> type[View]:
    """A Faust view that answers `route.method`: the token, then the body, then the handler."""
    settings = api.settings

    async def serve(view: View, request: Request, **kwargs: Any) -> Response:
        if denied := refused(view, request, guard):
            return denied
        if route.body is None:
            return await route.handler(api, view, request)
        document = not_json(request) or await body_of(request, settings.web_max_body_bytes)
        if not isinstance(document, Rejection):
            document = parse_message(document, route.body, route.body_limit(settings))
        if isinstance(document, Rejection):
            return answer(view, problem(document), http_status(document))
        return await route.handler(api, view, request, document)

    return type(route.name, (View,), {route.method: serve, "__module__": __name__})


def register_web(api: WebApi) -> None:
    """The routes on the worker's web server, each behind its guard. Raises at start when the
    token setting is unusable, so the door is never left open."""
    settings = api.settings
    guard = Guard(load_token(settings))
    guards = {
        Access.OPEN: None,
        Access.READ: guard if settings.web_protect_reads else None,
        Access.WRITE: guard,
    }
    for route in ROUTES:
        api.app.page(route.path, name=route.name)(view_of(route, api, guards[route.access]))
