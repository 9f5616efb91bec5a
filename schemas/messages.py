"""Pydantic v2 models for every message on badbuzz topics."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    field_validator,
)

TWITTER_TIME_FORMAT = "%a %b %d %H:%M:%S %z %Y"


def _tweet_id(value: Any) -> Any:
    """Twitter JSON carries ids as numbers or strings; downstream keys want one form."""
    if isinstance(value, bool):
        raise ValueError("id must be a string or an integer")
    if isinstance(value, int):
        return str(value)
    return value


def _timestamp(value: Any) -> Any:
    """Accept ISO-8601 and Twitter's legacy `created_at` format; naive times are UTC."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                parsed = datetime.strptime(value, TWITTER_TIME_FORMAT)
            except ValueError:
                raise ValueError(
                    f"{value[:40]!r} is not a time in an accepted format: ISO-8601 "
                    "(2026-03-01T12:30:00+00:00, Z or no zone meaning UTC) or Twitter's "
                    f"{TWITTER_TIME_FORMAT!r} (Sun Mar 01 12:30:00 +0000 2026)"
                ) from None
        value = parsed
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


TweetId = Annotated[StrictStr, BeforeValidator(_tweet_id), Field(min_length=1, max_length=64)]
Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]


class Label(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class RawTweet(BaseModel):
    """A tweet as upstream systems produce it to `tweets.raw`; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: TweetId
    text: StrictStr = Field(min_length=1)
    created_at: Timestamp | None = None
    user: StrictStr | None = None
    lang: StrictStr | None = None
    brand: StrictStr | None = None

    @field_validator("text")
    @classmethod
    def _text_has_content(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("text is blank")
        return text


class SentimentEvent(BaseModel):
    """One scored tweet on `tweets.sentiment`; `event_time` is what windows are built on."""

    model_config = ConfigDict(frozen=True)

    tweet_id: TweetId
    label: Label
    p_positive: float = Field(
        ge=0.0, le=1.0, description="P(positive), corrected to `prior` like `label`."
    )
    model_version: str
    scored_at: Timestamp
    event_time: Timestamp
    created_at: Timestamp | None = None
    brand: str | None = None
    text: str
    p_negative: float | None = Field(
        default=None, ge=0.0, le=1.0, description="P(negative), corrected to `prior`."
    )
    prior: dict[str, float] | None = Field(
        default=None,
        description="Class prior the probabilities were corrected to: the live traffic's, "
        "estimated from recent scores (the brand's own when it has enough traffic).",
    )


class FeedbackVerdict(StrEnum):
    WRONG = "wrong"
    CORRECT = "correct"


class Feedback(BaseModel):
    """A user's verdict on a prediction, read from `tweets.feedback`.

    Clients that showed the user the tweet and its prediction send them along (`text`,
    `predicted_label`, `brand`): that is what retraining and per-brand alerts need.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    tweet_id: TweetId
    verdict: FeedbackVerdict
    corrected_label: Label | None = None
    predicted_label: Label | None = None
    text: StrictStr | None = None
    brand: StrictStr | None = None
    reported_at: Timestamp | None = None
    user: StrictStr | None = None
    comment: StrictStr | None = None

    @property
    def true_label(self) -> Label | None:
        """The label a training set should use, when the feedback tells it."""
        if self.corrected_label is not None:
            return self.corrected_label
        if self.predicted_label is None:
            return None
        if self.verdict is FeedbackVerdict.CORRECT:
            return self.predicted_label
        if self.predicted_label is Label.NEUTRAL:
            return None  # wrong, but negative or positive: the report does not say
        return Label.NEGATIVE if self.predicted_label is Label.POSITIVE else Label.POSITIVE


class AlertKind(StrEnum):
    NEGATIVE_SENTIMENT = "negative_sentiment"
    NEGATIVE_FEEDBACK = "negative_feedback"


class AlertStatus(StrEnum):
    RAISED = "raised"
    RESOLVED = "resolved"


class AlertExample(BaseModel):
    tweet_id: str
    text: str


class AlertTerm(BaseModel):
    """A word distinctive of the window's negative tweets against the brand's own history."""

    term: str = Field(max_length=32)
    z_score: float = Field(description="z of the weighted log-odds ratio (Monroe et al. 2008).")
    count: float = Field(ge=0.0, description="Weight of the term in the window's negatives.")


class Alert(BaseModel):
    """A bad-buzz alert (or its resolution) on `alerts.badbuzz`."""

    alert_id: str
    kind: AlertKind
    status: AlertStatus
    scope: str
    window_start: Timestamp
    window_end: Timestamp
    count: int = Field(ge=0)
    total: int = Field(ge=0)
    share: float = Field(ge=0.0, le=1.0)
    threshold: str
    examples: list[AlertExample] = Field(
        default_factory=list,
        description="A few negative tweets chosen to represent the burst: near-copies "
        "collapsed, covering the top terms (stream/alerts/terms.py).",
    )
    terms: list[AlertTerm] = Field(
        default_factory=list,
        description="What the burst is about: its most distinctive terms, best first.",
    )
    raised_at: Timestamp


class DeadLetter(BaseModel):
    """A rejected input with why it was rejected, on `tweets.deadletter`.

    The payload is kept as base64 because the reason may be that it is not valid UTF-8;
    it is cut to a bounded size so an oversized input cannot make the record unproducible.
    """

    source_topic: str
    partition: int
    offset: int
    reason: str
    detail: str
    payload_base64: str
    payload_size: int = Field(ge=0)
    payload_truncated: bool
    rejected_at: Timestamp


MESSAGE_MODELS: dict[str, type[BaseModel]] = {
    "raw_tweet": RawTweet,
    "sentiment_event": SentimentEvent,
    "feedback": Feedback,
    "alert": Alert,
    "dead_letter": DeadLetter,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of each message, keyed by message name, for consumers to validate."""
    return {name: model.model_json_schema() for name, model in MESSAGE_MODELS.items()}
