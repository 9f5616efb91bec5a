"""Turns raw Kafka payloads into valid tweets or dead letters: never raises, never drops."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from schemas import DeadLetter, RawTweet
from stream.records import RawRecord, UndecodableBatch

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    detail: str


REASONS = (
    "empty_payload",
    "oversized",
    "bad_encoding",
    "malformed_json",
    "not_an_object",
    "missing_text",
    "empty_text",
    "invalid_field",
    "field_too_long",
    "no_reporter",  # feedback only: stream/pipeline/feedback.py
    "undecodable_batch",
)


def parse_tweet(value: bytes | None, max_bytes: int) -> RawTweet | Rejection:
    return parse_message(value, RawTweet, max_bytes)


def parse_message(value: bytes | None, schema: type[M], max_bytes: int) -> M | Rejection:
    """Check a payload in the cheap-to-expensive order, naming the first problem found."""
    if not value:
        return Rejection("empty_payload", "message has no value")
    if len(value) > max_bytes:
        return Rejection("oversized", f"{len(value)} bytes > limit of {max_bytes}")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection("bad_encoding", f"not UTF-8: {exc.reason} at byte {exc.start}")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return Rejection("malformed_json", f"{exc.msg} at line {exc.lineno} col {exc.colno}")
    except (ValueError, RecursionError) as exc:
        # JSON that other parsers take and Python refuses, always the same way: an integer
        # past Python's digit limit, nesting past its recursion limit
        return Rejection("malformed_json", f"not parsable here: {_describe(exc)}")
    if not isinstance(document, dict):
        return Rejection("not_an_object", f"JSON {type(document).__name__}, expected an object")
    try:
        return schema.model_validate(document)
    except ValidationError as exc:
        return _rejection_from(exc)


def _rejection_from(exc: ValidationError) -> Rejection:
    """Name the reason by the first error so metrics keep a small, fixed set of labels."""
    errors = exc.errors(include_url=False)
    detail = "; ".join(
        f"{'.'.join(str(part) for part in err['loc'])}: {err['msg']}" for err in errors
    )
    first = errors[0]
    if first["type"] == "string_too_long":
        return Rejection("field_too_long", detail)
    if first["loc"] == ("text",):
        if first["type"] == "missing":
            return Rejection("missing_text", detail)
        if first["type"] in {"string_too_short", "value_error"}:
            return Rejection("empty_text", detail)
    return Rejection("invalid_field", detail)


def dead_letter(
    record: RawRecord, rejection: Rejection, keep_bytes: int, now: datetime
) -> DeadLetter:
    payload = record.value or b""
    kept = payload[:keep_bytes]
    return DeadLetter(
        source_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        reason=rejection.reason,
        detail=rejection.detail,
        payload_base64=base64.b64encode(kept).decode("ascii"),
        payload_size=len(payload),
        payload_truncated=len(kept) < len(payload),
        rejected_at=now,
    )


def undecodable_batch_letter(batch: UndecodableBatch, now: datetime) -> DeadLetter:
    """No payload to keep, only where the batch was, so an operator can read it with a client
    that can decode it (e.g. Kafka's console consumer)."""
    return DeadLetter(
        source_topic=batch.topic,
        partition=batch.partition,
        offset=batch.first_offset,
        reason="undecodable_batch",
        detail=(
            f"offsets {batch.first_offset}-{batch.last_offset} of {batch.topic} partition "
            f"{batch.partition} skipped: {_describe(batch.error)}"
        ),
        payload_base64="",
        payload_size=0,
        payload_truncated=False,
        rejected_at=now,
    )


def _describe(error: Exception) -> str:
    """`Type: message`, without repeating the type where the message starts with it (as
    aiokafka's errors do)."""
    name, message = type(error).__name__, str(error)
    return message if message.startswith(f"{name}:") else f"{name}: {message}"
