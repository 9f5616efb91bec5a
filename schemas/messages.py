"""Pydantic v2 models for every message on badbuzz topics."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    field_validator,
    model_validator,
)

TWITTER_TIME_FORMAT = "%a %b %d %H:%M:%S %z %Y"

# Bounds on the strings that come from outside; a longer one is rejected (`field_too_long`),
# never cut, so that keys, scopes and labels stay what the sender meant.
MAX_ID_CHARS = 64
MAX_BRAND_CHARS = 64  # a brand is an alert scope and a key: a name, not a text
MAX_USER_CHARS = 256
MAX_LANG_CHARS = 35  # the longest BCP 47 tag in common use
MAX_FEEDBACK_TEXT_CHARS = 4_000
MAX_COMMENT_CHARS = 2_000


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


TweetId = Annotated[
    StrictStr, Field(min_length=1, max_length=MAX_ID_CHARS), BeforeValidator(_tweet_id)
]
Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]
Brand = Annotated[StrictStr, Field(max_length=MAX_BRAND_CHARS)]
User = Annotated[StrictStr, Field(max_length=MAX_USER_CHARS)]


class Label(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"
    # the tweet's language is one no served model reads: flagged, not scored
    UNSUPPORTED_LANGUAGE = "unsupported_language"


class RawTweet(BaseModel):
    """A tweet as upstream systems produce it to `tweets.raw`; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: TweetId
    text: StrictStr = Field(min_length=1)
    created_at: Timestamp | None = None
    user: User | None = None
    lang: Annotated[StrictStr, Field(max_length=MAX_LANG_CHARS)] | None = None
    brand: Brand | None = None

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
    p_positive: float | None = Field(
        ge=0.0,
        le=1.0,
        description="P(positive), corrected to `prior` like `label`; null when not `scored`.",
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
    lang: str | None = Field(
        default=None,
        description="The tweet's language (ISO 639-1, or fastText's code): the producer's "
        "`lang` when it is a language code, otherwise detected.",
    )
    scored: bool = Field(
        default=True,
        description="False when no served model reads `lang`: the label is "
        "`unsupported_language`, the probabilities are null, and the tweet counts neither "
        "towards nor against an alert (weight 0 and no part of the total).",
    )

    @model_validator(mode="after")
    def _scored_has_probabilities(self) -> SentimentEvent:
        unsupported = self.label is Label.UNSUPPORTED_LANGUAGE
        if unsupported == self.scored or (self.p_positive is None) == self.scored:
            raise ValueError("a scored event has p_positive and a class label; only others not")
        return self


class FeedbackVerdict(StrEnum):
    WRONG = "wrong"
    CORRECT = "correct"


class Feedback(BaseModel):
    """A user's verdict on a prediction, read from `tweets.feedback`.

    Clients that showed the user the tweet and its prediction send them along (`text`,
    `predicted_label`, `brand`): that is what retraining and per-brand alerts need.
    Who reported it (`reporter`) and through what (`source`) is vouched for by the writer:
    the web front after checking its token, or an application the topic's ACL lets write
    (docs/security.md). A report with no reporter is dead-lettered.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    tweet_id: TweetId
    verdict: FeedbackVerdict
    corrected_label: Label | None = None
    predicted_label: Label | None = None
    text: Annotated[StrictStr, Field(max_length=MAX_FEEDBACK_TEXT_CHARS)] | None = None
    brand: Brand | None = None
    reported_at: Timestamp | None = None
    reporter: StrictStr | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        validation_alias=AliasChoices("reporter", "user"),
        description="Who reports, as the writing application knows them (`user` is accepted "
        "too); each reporter counts once towards a feedback alert.",
    )
    source: StrictStr | None = Field(
        default=None,
        pattern=r"^(http|kafka:[^\s]{1,200})$",
        description="Who wrote the report: `http` (set by the web front, whatever the body "
        "says) or `kafka:<principal>` (an application allowed to write the topic). Reports "
        "without one are not trained on and do not move the live prior.",
    )
    comment: Annotated[StrictStr, Field(max_length=MAX_COMMENT_CHARS)] | None = None

    @property
    def true_label(self) -> Label | None:
        """The label a training set should use, when the feedback tells it."""
        if self.corrected_label is not None:
            return self.corrected_label
        if self.predicted_label is None:
            return None
        if self.verdict is FeedbackVerdict.CORRECT:
            return self.predicted_label
        if self.predicted_label in (Label.NEUTRAL, Label.UNSUPPORTED_LANGUAGE):
            return None  # wrong, but which class: the report does not say
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
    count: float = Field(ge=0, description="Complaints in the window (a sum of weights).")
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
    delay_s: float = Field(
        default=0.0, ge=0, description="Seconds from the window's end to `raised_at`."
    )
    on_catch_up: bool = Field(
        default=False,
        description="Raised while catching up (a backlog after an outage, a replay), well "
        "after its window: not news of a buzz happening now.",
    )


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
