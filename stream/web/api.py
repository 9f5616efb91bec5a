"""The HTTP API's documents: pydantic models (they also feed /openapi.json) and the pure
steps between a request body and its answer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, model_validator

from model.text import MAX_TEXT_CHARS
from schemas import Alert, Label
from schemas.messages import MAX_LANG_CHARS
from stream.pipeline.intake import Rejection
from stream.pipeline.steps import Predicted


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("text is blank")
    return text


# The model reads a text's first MAX_TEXT_CHARS characters: a longer one is refused here
# rather than scored on a part the caller did not choose.
NonBlankText = Annotated[StrictStr, Field(max_length=MAX_TEXT_CHARS), AfterValidator(_not_blank)]


class PredictRequest(BaseModel):
    """One text or a list of texts; blank texts are refused, as the stream dead-letters them,
    and so are texts longer than the model reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: NonBlankText | None = Field(default=None, description="One text to score.")
    texts: list[NonBlankText] | None = Field(
        default=None, min_length=1, description="Texts to score, answered in the same order."
    )
    lang: StrictStr | None = Field(
        default=None,
        max_length=MAX_LANG_CHARS,
        description="The texts' language, as a producer's `lang` (ISO 639-1, e.g. `fr` or "
        "`fr-FR`); when absent or not a language code (`und`), each text's is detected.",
    )

    @model_validator(mode="after")
    def _exactly_one_input(self) -> PredictRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("give either `text` or `texts`")
        return self

    @property
    def all_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class Prediction(BaseModel):
    text: str
    label: Label = Field(
        description="`unsupported_language` when no served model reads the text's language: "
        "it is not scored, as the stream does not score it."
    )
    lang: str = Field(description="The language the text was read as (given or detected).")
    model_version: str = Field(
        description="The model that read the text's language; the bundle's own when the text "
        "is not scored."
    )
    scored: bool
    p_positive: float | None = Field(ge=0.0, le=1.0, description="null when not scored.")
    p_negative: float | None = Field(ge=0.0, le=1.0, description="null when not scored.")
    p_neutral: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Only from a three-class model."
    )


class PredictResponse(BaseModel):
    model_version: str
    classes: list[str] = Field(description="The model's classes, in the order of `prior`.")
    prior: dict[str, float] = Field(
        description="The live class prior the probabilities are corrected to (label shift)."
    )
    threshold: float = Field(
        description="A binary model labels positive at or above this p_positive; a "
        "three-class model takes the most probable class."
    )
    predictions: list[Prediction]


class Problem(BaseModel):
    """Why a request was refused: `error` is a short fixed reason, `detail` says more."""

    error: str
    detail: str


class ShadowStatus(BaseModel):
    """A challenger scored beside the champion on this worker, never published (docs/models.md)."""

    version: str
    champion: str
    scored: int
    agreement: float | None = Field(description="Share of its labels the champion gave too.")
    labels: dict[str, int]
    feedback: int = Field(description="User-labelled tweets both models scored.")
    champion_right: int
    challenger_right: int


class ModelStatus(BaseModel):
    version: str
    threshold: float
    prior: dict[str, float] | None = Field(
        default=None, description="Class prior the scores assume, when the model exposes one."
    )
    shadow: ShadowStatus | None = None


class LagEntry(BaseModel):
    topic: str
    partition: int
    lag: int


class DeadLetterSummary(BaseModel):
    reason: str
    source_topic: str
    partition: int
    offset: int
    detail: str
    rejected_at: datetime


class StatusReport(BaseModel):
    """What this worker sees: alerts of the scopes it owns, dead letters it wrote."""

    generated_at: datetime
    model: ModelStatus
    tweets_per_s: float = Field(description="Raw messages consumed per second, recently.")
    throughput_window_s: float
    consumer_lag: list[LagEntry]
    open_alerts: list[Alert] = Field(description="Raised and not yet resolved, newest first.")
    dead_letters: list[DeadLetterSummary] = Field(description="The latest, newest first.")


def predictions(texts: Sequence[str], predicted: Predicted) -> list[Prediction]:
    """The stream's languages, labels and probabilities (stream/pipeline/steps.py), one per
    text."""
    column = {name: n for n, name in enumerate(predicted.classes)}

    def share(row: np.ndarray | None, name: str) -> float | None:
        return None if row is None or name not in column else float(row[column[name]])

    return [
        Prediction(
            text=text,
            label=label,
            lang=lang,
            model_version=version,
            scored=row is not None,
            p_positive=share(row, "positive"),
            p_negative=share(row, "negative"),
            p_neutral=share(row, "neutral"),
        )
        for text, row, label, lang, version in zip(
            texts,
            predicted.probabilities,
            predicted.labels,
            predicted.langs,
            predicted.versions,
            strict=True,
        )
    ]


def too_many_texts(request: PredictRequest, max_texts: int) -> Rejection | None:
    count = len(request.all_texts)
    if count > max_texts:
        return Rejection("too_many_texts", f"{count} texts > limit of {max_texts} per request")
    return None


def http_status(rejection: Rejection) -> int:
    """413 for size, 415 for a body not declared JSON, 400 when it is not JSON at all, 422
    when it is but does not fit."""
    if rejection.reason == "oversized":
        return 413
    if rejection.reason == "unsupported_media_type":
        return 415
    if rejection.reason in {"empty_payload", "bad_encoding", "malformed_json"}:
        return 400
    return 422


def problem(rejection: Rejection) -> Problem:
    return Problem(error=rejection.reason, detail=rejection.detail)
