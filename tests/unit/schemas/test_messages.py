"""The messages' JSON schemas, and the times a raw tweet's created_at accepts."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from schemas import json_schemas
from schemas.messages import RawTweet


def test_every_message_has_a_json_schema_with_its_required_fields() -> None:
    schemas = json_schemas()
    assert set(schemas) == {"raw_tweet", "sentiment_event", "feedback", "alert", "dead_letter"}
    assert set(schemas["raw_tweet"]["required"]) == {"id", "text"}
    assert {"tweet_id", "label", "p_positive", "model_version"} <= set(
        schemas["sentiment_event"]["required"]
    )
    assert {"reason", "partition", "offset", "source_topic"} <= set(
        schemas["dead_letter"]["required"]
    )
    alert = schemas["alert"]
    assert {"terms", "examples"} <= set(alert["properties"])
    assert set(alert["$defs"]["AlertTerm"]["required"]) == {"term", "z_score", "count"}


@pytest.mark.parametrize(
    "created_at",
    [
        "2026-03-01T12:30:00+00:00",
        "2026-03-01T12:30:00Z",
        "2026-03-01 12:30:00",
        "Sun Mar 01 12:30:00 +0000 2026",
    ],
)
def test_created_at_accepts_iso_8601_and_twitters_format(created_at: str) -> None:
    tweet = RawTweet.model_validate({"id": "1", "text": "ok", "created_at": created_at})
    assert tweet.created_at == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize("created_at", ["yesterday", "01/03/2026 12:30", "2026-13-01T00:00:00"])
def test_a_wrong_created_at_names_every_accepted_format(created_at: str) -> None:
    with pytest.raises(ValidationError) as error:
        RawTweet.model_validate({"id": "1", "text": "ok", "created_at": created_at})
    message = str(error.value)
    assert f"{created_at!r} is not a time in an accepted format" in message
    assert "ISO-8601" in message and "%a %b %d %H:%M:%S %z %Y" in message
