"""One micro-batch of raw records in, sentiment events and dead letters out (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import numpy as np

from model.scorer import decision, positive_share
from schemas import DeadLetter, Label, RawTweet, SentimentEvent
from stream.alerts.windows import clamp_to_arrival
from stream.pipeline.intake import Rejection, dead_letter, parse_tweet
from stream.pipeline.labelshift import LabelShift
from stream.pipeline.signals import scope_of
from stream.records import RawRecord


class TextScorer(Protocol):
    version: str
    threshold: float
    classes: tuple[str, ...]
    train_prior: np.ndarray
    language: str  # the one the bundle's own model reads (its drift reference's)
    languages: frozenset[str]  # every language a model of the bundle reads

    def predict_classes(
        self, texts: Sequence[str], langs: Sequence[str] | None = None
    ) -> np.ndarray: ...

    def languages_of(self, texts: Sequence[str], claimed: Sequence[str | None]) -> list[str]: ...

    def version_of(self, lang: str) -> str: ...


class OneModelScorer:
    """What a scorer with one model for every tweet says of languages: each tweet is in the
    model's language, and the model's version scored it (human labels, stand-ins)."""

    version: str
    language: str

    def languages_of(self, texts: Sequence[str], claimed: Sequence[str | None]) -> list[str]:
        return [self.language] * len(texts)

    def version_of(self, lang: str) -> str:
        return self.version


@dataclass
class BatchOutcome:
    events: list[SentimentEvent] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    clamped: int = 0  # events whose claimed time was too far ahead of the clock
    model_p_positive: list[float] = field(default_factory=list)  # before correction, for drift
    inputs: list[RawRecord] = field(default_factory=list)  # the record of each event


def decide(classes: Sequence[str], probabilities: np.ndarray, threshold: float) -> list[Label]:
    """The bundle's own rule (model/scorer.py `decision`), as event labels."""
    return [Label(name) for name in decision(classes, probabilities, threshold)]


def served_rows(scorer: TextScorer, langs: Sequence[str]) -> list[int]:
    """The rows in a language one of the scorer's models reads; the others are not scored."""
    return [n for n, lang in enumerate(langs) if lang in scorer.languages]


def rounded_prior(classes: Sequence[str], prior: np.ndarray) -> dict[str, float]:
    """A prior as events and /predict report it."""
    return {name: round(float(p), 4) for name, p in zip(classes, prior, strict=True)}


def score_texts(
    scorer: TextScorer,
    texts: Sequence[str],
    scopes: Sequence[str],
    shift: LabelShift | None,
    langs: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Model posteriors (each text read by its language's model when `langs` is given), and
    the ones used for labels with each scope's prior, corrected after this batch joins the
    live estimate."""
    posteriors = scorer.predict_classes(texts, langs)
    if shift is not None:
        shift.observe(scopes, posteriors)
    corrected, priors = corrected_to_live_prior(scorer, scopes, posteriors, shift)
    return posteriors, corrected, priors


def live_priors(
    scorer: TextScorer, scopes: Sequence[str], shift: LabelShift | None
) -> dict[str, np.ndarray]:
    """Each scope's prior labels are decided on: the live one, read at one moment, or the
    training prior when there is no correction."""
    if shift is None:
        return dict.fromkeys(scopes, np.asarray(scorer.train_prior, dtype=float))
    return shift.priors_for(scopes)


def corrected_to_live_prior(
    scorer: TextScorer, scopes: Sequence[str], posteriors: np.ndarray, shift: LabelShift | None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The posteriors labels are decided on, and each scope's prior they were corrected to
    (read once, so the prior reported is the one applied)."""
    priors = live_priors(scorer, scopes, shift)
    return (posteriors if shift is None else shift.correct(scopes, posteriors, priors)), priors


def record_time(record: RawRecord, now: datetime) -> datetime:
    """When Kafka got the message; `now` (arrival) when it has no usable timestamp: none,
    negative (Kafka's -1 means none), not a number, or beyond what a datetime holds."""
    seconds = record.timestamp
    if seconds is None or not seconds >= 0:
        return now
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return now


def trusted_time(claimed: datetime, now: datetime, max_ahead_s: float) -> datetime:
    """The claimed time, or `now` (arrival) when the claim is more than `max_ahead_s` ahead:
    a producer's clock, or a typo, must not move the alert windows into the future."""
    t = clamp_to_arrival(claimed.timestamp(), now.timestamp(), max_ahead_s)
    return claimed if t == claimed.timestamp() else now


def process_batch(
    records: Sequence[RawRecord],
    scorer: TextScorer,
    shift: LabelShift | None,
    *,
    max_payload_bytes: int,
    deadletter_payload_bytes: int,
    now: datetime,
    event_time_max_ahead_s: float,
) -> BatchOutcome:
    """Validate every record, score the valid ones in one model call, keep input order."""
    outcome = BatchOutcome()
    accepted: list[tuple[RawRecord, RawTweet]] = []
    for record in records:
        parsed = parse_tweet(record.value, max_payload_bytes)
        if isinstance(parsed, Rejection):
            outcome.dead_letters.append(dead_letter(record, parsed, deadletter_payload_bytes, now))
        else:
            accepted.append((record, parsed))
    if not accepted:
        return outcome
    langs = scorer.languages_of([t.text for _, t in accepted], [t.lang for _, t in accepted])
    served = served_rows(scorer, langs)
    scopes = [scope_of(accepted[n][1].brand) for n in served]
    texts = [accepted[n][1].text for n in served]
    served_langs = [langs[n] for n in served]
    model, corrected, priors = score_texts(scorer, texts, scopes, shift, served_langs)
    reported = {scope: rounded_prior(scorer.classes, prior) for scope, prior in priors.items()}
    positive = scorer.classes.index(Label.POSITIVE)
    negative = scorer.classes.index(Label.NEGATIVE)
    # the score drift compares with the bundle's reference (its own language's scores):
    # p(positive) against negative
    own = [n for n, lang in enumerate(served_langs) if lang == scorer.language]
    outcome.model_p_positive = positive_share(model[own], tuple(scorer.classes)).tolist()
    labels = decide(scorer.classes, corrected, scorer.threshold)
    scores = dict(zip(served, zip(scopes, corrected, labels, strict=True), strict=True))
    for n, ((record, tweet), lang) in enumerate(zip(accepted, langs, strict=True)):
        claimed = tweet.created_at or record_time(record, now)  # when it happened, else sent
        trusted = trusted_time(claimed, now, event_time_max_ahead_s)
        outcome.clamped += trusted != claimed
        outcome.inputs.append(record)
        if n in scores:
            scope, row, label = scores[n]
            scored = {
                "label": label,
                "p_positive": float(row[positive]),
                "p_negative": float(row[negative]),
                "prior": reported[scope],
            }
        else:
            scored = {"label": Label.UNSUPPORTED_LANGUAGE, "p_positive": None, "scored": False}
        outcome.events.append(
            SentimentEvent(
                tweet_id=tweet.id,
                **scored,
                model_version=scorer.version_of(lang),
                scored_at=now,
                event_time=trusted,
                created_at=tweet.created_at,
                brand=tweet.brand,
                text=tweet.text,
                lang=lang,
            )
        )
    return outcome
