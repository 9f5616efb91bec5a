"""The OpenAPI 3 description served at /openapi.json, its schemas generated from the models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from schemas import Feedback
from stream.settings import Settings
from stream.web.api import PredictRequest, PredictResponse, Problem, StatusReport

BEARER = "bearerToken"


def _json(ref: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": ref}}


def _answer(description: str, ref: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, **({"content": _json(ref)} if ref else {})}


def openapi_document(settings: Settings) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (PredictRequest, "validation"),
        (PredictResponse, "serialization"),
        (Feedback, "validation"),
        (Problem, "serialization"),
        (StatusReport, "serialization"),
    ]
    refs, definitions = models_json_schema(models, ref_template="#/components/schemas/{model}")
    ref = {model: refs[(model, mode)] for model, mode in models}
    problem = ref[Problem]
    guarded = {"security": [{BEARER: []}]}
    refused = _answer(
        "No or wrong bearer token, or none configured (BADBUZZ_WEB_TOKEN[_FILE]).", problem
    )
    reads = guarded if settings.web_protect_reads else {"security": []}
    reads_refused = {"401": refused} if settings.web_protect_reads else {}
    too_large = _answer(f"Body over {settings.web_max_body_bytes} bytes.", problem)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "badbuzz worker",
            "version": "1",
            "description": (
                "Scoring, feedback and status of one badbuzz worker. Write endpoints need "
                "`Authorization: Bearer <BADBUZZ_WEB_TOKEN>` and answer 401 while no token is "
                "configured; reads take the token when BADBUZZ_WEB_PROTECT_READS is true."
            ),
        },
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {BEARER: {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/predict": {
                "post": {
                    "summary": "Score one text or a list with the model the worker serves.",
                    **reads,
                    "requestBody": {"required": True, "content": _json(ref[PredictRequest])},
                    "responses": {
                        "200": _answer("A prediction per text, in order.", ref[PredictResponse]),
                        "400": _answer("Empty body or not JSON.", problem),
                        **reads_refused,
                        "413": too_large,
                        "422": _answer(
                            "JSON that is not a predict request, blank text, too many texts "
                            f"(at most {settings.web_predict_max_texts}).",
                            problem,
                        ),
                    },
                }
            },
            "/feedback": {
                "post": {
                    "summary": f"A verdict on a prediction, sent to `{settings.topic_feedback}`.",
                    "description": "Validated exactly like the topic's messages.",
                    **guarded,
                    "requestBody": {"required": True, "content": _json(ref[Feedback])},
                    "responses": {
                        "202": _answer(
                            "Acknowledged by Kafka; the accepted document.", ref[Feedback]
                        ),
                        "400": _answer("Empty body, not UTF-8 or not JSON.", problem),
                        "401": refused,
                        "413": too_large,
                        "422": _answer("Missing or invalid field (e.g. the verdict).", problem),
                        "503": _answer("Kafka did not acknowledge in time; retry.", problem),
                    },
                }
            },
            "/status": {
                "get": {
                    "summary": "What the status page shows, as JSON.",
                    **reads,
                    "responses": {
                        "200": _answer("This worker's status.", ref[StatusReport]),
                        **reads_refused,
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics.",
                    **reads,
                    "responses": {
                        "200": {
                            "description": "Prometheus text format.",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        **reads_refused,
                    },
                }
            },
            "/": {
                "get": {
                    "summary": "The status page (its data comes from /status).",
                    "security": [],
                    "responses": {"200": {"description": "HTML.", "content": {"text/html": {}}}},
                }
            },
            "/health": {
                "get": {
                    "summary": "Liveness.",
                    "security": [],
                    "responses": {"200": _answer("Up.")},
                }
            },
            "/ready": {
                "get": {
                    "summary": "Readiness: consuming and not rebalancing.",
                    "security": [],
                    "responses": {"200": _answer("Ready."), "503": _answer("Not ready.")},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document.",
                    "security": [],
                    "responses": {"200": _answer("OpenAPI 3.1.")},
                }
            },
        },
    }
