"""The OpenAPI 3 description served at /openapi.json, written from the route declarations
(routes.py) and their pydantic models, so it says what the server does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, JsonSchemaValue, models_json_schema

from stream.settings import Settings
from stream.web.api import Problem
from stream.web.routes import JSON, Access, Answer, Route

BEARER = "bearerToken"
DESCRIPTION = (
    "Scoring, feedback and status of one badbuzz worker. Write endpoints need "
    "`Authorization: Bearer <BADBUZZ_WEB_TOKEN>` and answer 401 while no token is "
    "configured; reads take the token when BADBUZZ_WEB_PROTECT_READS is true. Request "
    "bodies are JSON, sent as `Content-Type: application/json`."
)


def _models(routes: Sequence[Route]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    """Each model once: request bodies as validated, answers as serialised."""
    models = {(Problem, "serialization")}
    for route in routes:
        if route.body is not None:
            models.add((route.body, "validation"))
        models |= {(a.model, "serialization") for a in route.responses.values() if a.model}
    return sorted(models, key=lambda pair: (pair[0].__name__, pair[1]))


def openapi_document(settings: Settings, routes: Sequence[Route]) -> dict[str, Any]:
    refs, definitions = models_json_schema(
        _models(routes), ref_template="#/components/schemas/{model}"
    )
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method] = _operation(route, settings, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "badbuzz worker", "version": "1", "description": DESCRIPTION},
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {BEARER: {"type": "http", "scheme": "bearer"}},
        },
        "paths": paths,
    }


Refs = dict[tuple[type[BaseModel], JsonSchemaMode], JsonSchemaValue]


def _operation(route: Route, settings: Settings, refs: Refs) -> dict[str, Any]:
    guarded = route.access is Access.WRITE or (
        route.access is Access.READ and settings.web_protect_reads
    )
    responses = dict(route.responses)
    if guarded:
        responses["401"] = Answer(
            "No or wrong bearer token, or none configured (BADBUZZ_WEB_TOKEN[_FILE]).", Problem
        )
    operation: dict[str, Any] = {
        "summary": route.summary.format(settings=settings),
        **({"description": route.description} if route.description else {}),
        "security": [{BEARER: []}] if guarded else [],
    }
    if route.body is not None:
        schema = refs[(route.body, "validation")]
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": schema}}}
        limit = min(route.body_limit(settings), settings.web_max_body_bytes)
        responses["400"] = Answer("Empty body, not UTF-8 or not JSON.", Problem)
        responses["413"] = Answer(f"Body over {limit} bytes.", Problem)
        responses["415"] = Answer(f"Content-Type is not {JSON}.", Problem)
    operation["responses"] = {
        status: _response(responses[status], settings, refs) for status in sorted(responses)
    }
    return operation


def _response(answer: Answer, settings: Settings, refs: Refs) -> dict[str, Any]:
    described: dict[str, Any] = {"description": answer.description.format(settings=settings)}
    if answer.model is not None:
        described["content"] = {JSON: {"schema": refs[(answer.model, "serialization")]}}
    elif answer.media_type is not None:
        described["content"] = {answer.media_type: {"schema": {"type": "string"}}}
    return described
