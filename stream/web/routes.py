"""Each endpoint declared once: where it is, what it takes and answers, who may call it.

handlers.py registers these declarations on Faust's web server and openapi.py writes
/openapi.json from the same ones, so the document cannot drift from what is served.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel

from stream.settings import Settings

JSON = "application/json"


class Access(Enum):
    OPEN = "open"  # never asks for the token (probes, the page, this document)
    READ = "read"  # asks for it when BADBUZZ_WEB_PROTECT_READS is true
    WRITE = "write"  # always asks for it, and refuses everyone while none is configured


@dataclass(frozen=True, slots=True)
class Answer:
    """One documented response. `description` may name settings, e.g.
    `{settings.web_max_body_bytes}`; it is formatted with the worker's settings."""

    description: str
    model: type[BaseModel] | None = None
    media_type: str | None = None  # a body that is not a JSON document (HTML, text)


def web_body_limit(settings: Settings) -> int:
    return settings.web_max_body_bytes


@dataclass(frozen=True, slots=True)
class Route:
    """`handler` is called with the object that serves the routes, the Faust view and the
    request once the token was checked (per `access`); with a `body` model, only for a
    JSON body (Content-Type `application/json`) of at most `body_limit` bytes that
    validates against the model, and with that document."""

    path: str
    method: Literal["get", "post"]
    handler: Callable[..., Awaitable[Any]]
    summary: str
    access: Access
    responses: dict[str, Answer]
    body: type[BaseModel] | None = None
    body_limit: Callable[[Settings], int] = web_body_limit
    description: str | None = None

    @property
    def name(self) -> str:
        return (
            f"{self.method}_{self.path.strip('/').replace('/', '_').replace('.', '_') or 'index'}"
        )
