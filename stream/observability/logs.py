"""structlog set up once for JSON lines on stderr, the format log shippers expect."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog


def add_error_type_and_message(
    logger: object, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """`error_type` and `error_message` next to the traceback text, so the on-call person and
    log queries see what failed without reading the traceback."""
    exc_info = event_dict.get("exc_info")
    if exc_info is True:
        exc_info = sys.exc_info()
    error = exc_info[1] if isinstance(exc_info, tuple) else exc_info
    if isinstance(error, BaseException):
        event_dict["error_type"] = f"{type(error).__module__}.{type(error).__qualname__}"
        event_dict["error_message"] = str(error)
    return event_dict


# Turns `exc_info` (an exception, a sys.exc_info() tuple or True) into text fields: without it
# a stdlib record's exc_info reaches the JSON renderer as the repr of a traceback object.
ERROR_AS_TEXT = (add_error_type_and_message, structlog.processors.format_exc_info)


def configure_logging(level: str = "INFO", libraries_level: str = "WARNING") -> None:
    """Our events at `level`; Faust, aiokafka and friends, which are chatty, only from
    `libraries_level` up, in the same JSON lines so a crash of theirs is never invisible."""
    shared = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *ERROR_AS_TEXT,
                structlog.processors.JSONRenderer(),
            ],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(libraries_level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *shared,
            *ERROR_AS_TEXT,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


# For the worker's long-lived librdkafka clients (`"logger": LIBRDKAFKA` in their config): their
# own lines (e.g. a fresh broker's "coordinator load in progress") come out as JSON with the
# rest, when the client is polled, instead of as plain text on stderr.
LIBRDKAFKA = logging.getLogger("librdkafka")
