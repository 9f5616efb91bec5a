"""Message contracts shared by the worker, its producers and its consumers.

Every record that crosses a topic is one of these pydantic models; their JSON Schemas are
exported with `badbuzz schemas` so downstream consumers can validate what they read.
"""

from schemas.messages import (
    Alert,
    AlertExample,
    AlertKind,
    AlertStatus,
    AlertTerm,
    DeadLetter,
    Feedback,
    FeedbackVerdict,
    Label,
    RawTweet,
    SentimentEvent,
    json_schemas,
)

__all__ = [
    "Alert",
    "AlertExample",
    "AlertKind",
    "AlertStatus",
    "AlertTerm",
    "DeadLetter",
    "Feedback",
    "FeedbackVerdict",
    "Label",
    "RawTweet",
    "SentimentEvent",
    "json_schemas",
]
