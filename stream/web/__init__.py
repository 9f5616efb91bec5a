"""The worker's HTTP side: API, status page, OpenAPI document and the token guard."""

from stream.web.handlers import WebApi, register_web
from stream.web.status import StatusBoard

__all__ = ["StatusBoard", "WebApi", "register_web"]
