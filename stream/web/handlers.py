"""The worker's web endpoints, on Faust's own web server (aiohttp driver, same port as
/metrics): the HTTP API, the status page and the probes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import faust
import structlog
from aiohttp.web import HTTPRequestEntityTooLarge
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from schemas import Feedback
from stream.kafka.producer import OutputProducer
from stream.observability import metrics
from stream.pipeline.feedback import sent_over_http
from stream.pipeline.intake import M, Rejection, parse_message
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
    """The body, cut off by aiohttp at `client_max_size` (set to the same limit in app.py)."""
    try:
        return await request.read()
    except HTTPRequestEntityTooLarge:
        return Rejection("oversized", f"request body over the limit of {limit} bytes")


async def parsed_body(
    request: Request, schema: type[M], max_body_bytes: int, max_message_bytes: int
) -> M | Rejection:
    """A request body validated like a topic's message, or why it is refused."""
    body = await body_of(request, max_body_bytes)
    return body if isinstance(body, Rejection) else parse_message(body, schema, max_message_bytes)


def register_web(
    app: faust.App,
    settings: Settings,
    pipeline: Pipeline,
    outputs: OutputProducer,
    status: StatusBoard,
    scoring_alive: Callable[[], bool],
) -> None:
    """`scoring_alive`: whether the tweets.raw consumer thread runs, for /ready.
    Raises at start when the token setting is unusable, so the door is never left open."""
    scorer = pipeline.scorer
    guard = Guard(load_token(settings))
    read_guard = guard if settings.web_protect_reads else None
    openapi = openapi_document(settings)
    model_turn = asyncio.Lock()  # one web request on the model at a time: the stream waits
    # for at most one of them on the model's lock
    deliveries: set[asyncio.Future[None]] = set()

    # "/" first: Faust mounts its own index at "/" when the server starts, and aiohttp
    # serves the first route registered for a path
    @app.page("/")
    async def index(view: View, request: Request) -> Response:
        return view.html((STATIC / "index.html").read_text(), headers=PAGE_HEADERS)

    @app.page("/static/page.js")
    async def page_script(view: View, request: Request) -> Response:
        script = (STATIC / "page.js").read_text()
        return view.text(script, content_type="text/javascript", headers=PAGE_HEADERS)

    @app.page("/static/page.css")
    async def page_style(view: View, request: Request) -> Response:
        style = (STATIC / "page.css").read_text()
        return view.text(style, content_type="text/css", headers=PAGE_HEADERS)

    @app.page("/openapi.json")
    async def openapi_json(view: View, request: Request) -> Response:
        return view.json(openapi, headers=COMMON_HEADERS)

    @app.page("/status")
    async def status_json(view: View, request: Request) -> Response:
        if denied := refused(view, request, read_guard):
            return denied
        report = StatusReport(
            generated_at=datetime.now(UTC),
            model=model_status(scorer),
            tweets_per_s=round(status.tweets_per_s(), 2),
            throughput_window_s=status.throughput_window_s,
            consumer_lag=lag_from(metrics.CONSUMER_LAG),
            open_alerts=status.open_alerts(),
            dead_letters=status.dead_letters(),
        )
        return answer(view, report)

    class PredictView(View):
        async def post(self, request: Request, **kwargs: Any) -> Response:
            if denied := refused(self, request, read_guard):
                return denied
            parsed = await parsed_body(
                request, PredictRequest, settings.web_max_body_bytes, settings.web_max_body_bytes
            )
            if not isinstance(parsed, Rejection):
                parsed = too_many_texts(parsed, settings.web_predict_max_texts) or parsed
            if isinstance(parsed, Rejection):
                return answer(self, problem(parsed), http_status(parsed))
            texts = parsed.all_texts
            async with model_turn:  # scored off the event loop, so the stream keeps flowing
                predicted = await asyncio.to_thread(pipeline.predict, texts)
            return answer(
                self,
                PredictResponse(
                    model_version=scorer.version,
                    classes=list(predicted.classes),
                    prior=rounded_prior(predicted.classes, predicted.prior),
                    threshold=scorer.threshold,
                    predictions=predictions(texts, predicted),
                ),
            )

    class FeedbackView(View):
        async def post(self, request: Request, **kwargs: Any) -> Response:
            if denied := refused(self, request, guard):
                return denied
            parsed = await parsed_body(
                request, Feedback, settings.web_max_body_bytes, settings.max_payload_bytes
            )
            if isinstance(parsed, Rejection):
                return answer(self, problem(parsed), http_status(parsed))
            parsed = sent_over_http(parsed)
            delivery = asyncio.ensure_future(
                outputs.deliver([Outgoing.of(settings.topic_feedback, parsed.tweet_id, parsed)])
            )
            deliveries.add(delivery)  # kept until done: a timed-out one still gets delivered
            delivery.add_done_callback(deliveries.discard)
            try:
                await asyncio.wait_for(asyncio.shield(delivery), settings.web_feedback_timeout_s)
            except TimeoutError:
                detail = (
                    f"Kafka did not acknowledge within {settings.web_feedback_timeout_s} s; "
                    "the report may still arrive"
                )
                log.warning("feedback_not_acknowledged", tweet_id=parsed.tweet_id)
                return answer(self, Problem(error="not_acknowledged", detail=detail), 503)
            log.info("feedback_accepted", tweet_id=parsed.tweet_id, verdict=parsed.verdict.value)
            return answer(self, parsed, 202)

    app.page("/predict")(PredictView)
    app.page("/feedback")(FeedbackView)

    @app.page("/metrics")
    async def metrics_page(view: View, request: Request) -> Response:
        if denied := refused(view, request, read_guard):
            return denied
        return view.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/health")
    async def health(view: View, request: Request) -> Response:
        return view.json({"status": "ok"})

    @app.page("/ready")
    async def ready(view: View, request: Request) -> Response:
        is_ready = not app.rebalancing and app.consumer is not None and scoring_alive()
        return view.json({"ready": is_ready}, status=200 if is_ready else 503)
