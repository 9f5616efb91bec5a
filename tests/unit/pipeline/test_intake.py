import base64
import json
from datetime import UTC, datetime

import pytest
from aiokafka.errors import UnsupportedCodecError
from hypothesis import HealthCheck, given, settings

from schemas import Feedback, RawTweet
from schemas.messages import MAX_BRAND_CHARS, MAX_ID_CHARS, MAX_LANG_CHARS, MAX_USER_CHARS
from stream.pipeline.intake import (
    REASONS,
    Rejection,
    dead_letter,
    parse_message,
    parse_tweet,
    undecodable_batch_letter,
)
from stream.records import RawRecord, UndecodableBatch
from tests.support import hostile_payloads

LIMIT = 1024


def payload(document: object) -> bytes:
    return json.dumps(document).encode()


def test_valid_tweet_is_parsed_with_optional_fields() -> None:
    tweet = parse_tweet(
        payload({"id": 42, "text": "delayed again", "brand": "airparadis", "extra": [1]}), LIMIT
    )
    assert isinstance(tweet, RawTweet)
    assert (tweet.id, tweet.text, tweet.brand) == ("42", "delayed again", "airparadis")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty_payload"),
        (b"", "empty_payload"),
        (b"x" * (LIMIT + 1), "oversized"),
        (b'{"id": "1", "text": "caf\xe9"}', "bad_encoding"),
        (b'{"id": "1", "text": ', "malformed_json"),
        (b"[1, 2]", "not_an_object"),
        (payload({"id": "1"}), "missing_text"),
        (payload({"id": "1", "text": ""}), "empty_text"),
        (payload({"id": "1", "text": "   \n"}), "empty_text"),
        (payload({"id": "1", "text": 12}), "invalid_field"),
        (payload({"text": "no id"}), "invalid_field"),
        (payload({"id": True, "text": "bool id"}), "invalid_field"),
        (payload({"id": "1", "text": "ok", "created_at": "yesterday"}), "invalid_field"),
    ],
)
def test_bad_payloads_are_rejected_with_a_known_reason(value: bytes | None, reason: str) -> None:
    result = parse_tweet(value, LIMIT)
    assert isinstance(result, Rejection)
    assert result.reason == reason
    assert result.reason in REASONS
    assert result.detail


def test_dead_letter_keeps_a_bounded_copy_of_the_payload() -> None:
    record = RawRecord("tweets.raw", 2, 17, 1_700_000_000.0, b"\xff" * 100)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    letter = dead_letter(record, Rejection("bad_encoding", "not UTF-8"), keep_bytes=10, now=now)
    assert (letter.source_topic, letter.partition, letter.offset) == ("tweets.raw", 2, 17)
    assert base64.b64decode(letter.payload_base64) == b"\xff" * 10
    assert letter.payload_size == 100
    assert letter.payload_truncated
    assert letter.rejected_at == now


def test_undecodable_batch_letter_names_topic_partition_offsets_and_error() -> None:
    error = UnsupportedCodecError("Libraries for zstd compression codec not found")
    assert str(error).startswith("UnsupportedCodecError: ")  # the type, once, in the detail
    now = datetime(2026, 1, 1, tzinfo=UTC)
    letter = undecodable_batch_letter(UndecodableBatch("tweets.raw", 1, 40, 44, error), now)
    assert (letter.source_topic, letter.partition, letter.offset) == ("tweets.raw", 1, 40)
    assert letter.reason == "undecodable_batch"
    assert letter.reason in REASONS
    assert letter.detail == (
        "offsets 40-44 of tweets.raw partition 1 skipped: UnsupportedCodecError: "
        "Libraries for zstd compression codec not found"
    )
    assert (letter.payload_base64, letter.payload_size, letter.rejected_at) == ("", 0, now)


def test_undecodable_batch_letter_names_the_type_of_an_error_that_does_not() -> None:
    error = OSError("Not a gzipped file (b'\\x00\\x01')")
    letter = undecodable_batch_letter(
        UndecodableBatch("tweets.feedback", 0, 7, 7, error), datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert letter.detail.endswith("skipped: OSError: Not a gzipped file (b'\\x00\\x01')")


@pytest.mark.parametrize(
    "value",
    [
        b'{"id": ' + b"1" * 5_000 + b', "text": "big id"}',
        b'{"id": "1", "text": "deep", "extra": ' + b"[" * 1_100 + b"]" * 1_100 + b"}",
    ],
    ids=["integer past the digit limit", "nesting past the recursion limit"],
)
def test_json_python_refuses_is_malformed_every_time(value: bytes) -> None:
    """Valid JSON to other parsers: a dead letter, not a failure to retry."""
    first, again = parse_tweet(value, 1_000_000), parse_tweet(value, 1_000_000)
    assert isinstance(first, Rejection)
    assert first.reason == "malformed_json" and "not parsable here" in first.detail
    assert again == first
    assert parse_message(value, Feedback, 1_000_000) == first


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("id", MAX_ID_CHARS),
        ("brand", MAX_BRAND_CHARS),
        ("user", MAX_USER_CHARS),
        ("lang", MAX_LANG_CHARS),
    ],
)
def test_overlong_fields_are_rejected_by_name(field: str, limit: int) -> None:
    at_limit = parse_tweet(payload({"id": "1", "text": "ok", field: "x" * limit}), 10_000)
    assert isinstance(at_limit, RawTweet)
    over = parse_tweet(payload({"id": "1", "text": "ok", field: "x" * (limit + 1)}), 10_000)
    assert isinstance(over, Rejection)
    assert over.reason == "field_too_long" and over.reason in REASONS
    assert over.detail.startswith(f"{field}: ") and str(limit) in over.detail


def test_overlong_feedback_fields_are_rejected_too() -> None:
    report = {"tweet_id": "1", "verdict": "wrong", "brand": "b" * (MAX_BRAND_CHARS + 1)}
    rejected = parse_message(payload(report), Feedback, 10_000)
    assert isinstance(rejected, Rejection) and rejected.reason == "field_too_long"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_payloads)
def test_any_payload_is_a_valid_message_or_a_known_rejection(value: bytes) -> None:
    for schema in (RawTweet, Feedback):
        result = parse_message(value, schema, 100_000)
        assert isinstance(result, schema | Rejection)
        if isinstance(result, Rejection):
            assert result.reason in REASONS and result.detail
        else:
            result.model_dump_json()  # what is accepted can be produced again
