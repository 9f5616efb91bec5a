"""User feedback: validated like tweets, counted for alerts, kept for retraining.

Whoever may write `tweets.feedback` is trusted to say who reported (`reporter`) and through
what (`source`); what a report can do is bounded all the same: each reporter counts once
towards an alert, users' labels weigh at most a fixed share of a live prior, and only reports
with a source are trained on or move the prior (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas import AlertKind, DeadLetter, Feedback, FeedbackVerdict
from stream.alerts.windows import Observation
from stream.pipeline.intake import Rejection, dead_letter, parse_message
from stream.pipeline.scoring import record_time, trusted_time
from stream.pipeline.signals import Signal, group_by_scope, scope_of
from stream.records import RawRecord

HTTP_SOURCE = "http"
UNKNOWN_SOURCE = "unknown"
TOKEN_HOLDER = "token-holder"  # the reporter of an HTTP report that names none
NO_REPORTER = Rejection(
    "no_reporter",
    "reporter (or user) is required: the application writing the report must say who reported",
)


@dataclass
class FeedbackOutcome:
    accepted: list[tuple[RawRecord, Feedback]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    observations: list[tuple[str, Observation]] = field(default_factory=list)  # by scope
    clamped: int = 0  # reports whose claimed time was too far ahead of the clock

    def signals(self) -> list[Signal]:
        """A report that a prediction was wrong is what the feedback window counts."""
        return group_by_scope(AlertKind.NEGATIVE_FEEDBACK, self.observations)

    def known_labels(self) -> list[tuple[str, str]]:
        """(scope, true label) of the reports with a source, for the live prior."""
        return [
            (scope_of(report.brand), report.true_label.value)
            for _, report in self.accepted
            if report.source is not None and report.true_label is not None
        ]

    def labelled_tweets(self) -> list[tuple[str, str]]:
        """(tweet id, true label) of the reports with a source: what a shadow is judged on."""
        return [
            (report.tweet_id, report.true_label.value)
            for _, report in self.accepted
            if report.source is not None and report.true_label is not None
        ]


def process_feedback(
    records: Sequence[RawRecord],
    *,
    max_payload_bytes: int,
    deadletter_payload_bytes: int,
    now: datetime,
    event_time_max_ahead_s: float,
) -> FeedbackOutcome:
    outcome = FeedbackOutcome()
    for record in records:
        parsed = parse_message(record.value, Feedback, max_payload_bytes)
        if not isinstance(parsed, Rejection) and parsed.reporter is None:
            parsed = NO_REPORTER
        if isinstance(parsed, Rejection):
            outcome.dead_letters.append(dead_letter(record, parsed, deadletter_payload_bytes, now))
            continue
        outcome.accepted.append((record, parsed))
        claimed = parsed.reported_at or record_time(record, now)
        reported = trusted_time(claimed, now, event_time_max_ahead_s)
        outcome.clamped += reported != claimed
        observation = Observation(
            t=reported.timestamp(),
            negative=parsed.verdict is FeedbackVerdict.WRONG,
            tweet_id=parsed.tweet_id,
            text=parsed.text or parsed.comment or "",
            reporter=parsed.reporter,
        )
        outcome.observations.append((scope_of(parsed.brand), observation))
    return outcome


def sent_over_http(report: Feedback) -> Feedback:
    """The report as the web front writes it, after checking the caller's token: its source is
    `http` whatever the body claims, and one naming no reporter is the token holder's."""
    return report.model_copy(
        update={"source": HTTP_SOURCE, "reporter": report.reporter or TOKEN_HOLDER}
    )


def labelled_example(feedback: Feedback) -> dict[str, Any] | None:
    """A training row (text and the label users say is true), when the feedback has both;
    marked with its source and reporter, so retraining can leave out what nobody vouched for."""
    label = feedback.true_label
    if feedback.text is None or label is None:
        return None
    return {
        "tweet_id": feedback.tweet_id,
        "text": feedback.text,
        "label": label.value,
        "predicted_label": feedback.predicted_label.value if feedback.predicted_label else None,
        "verdict": feedback.verdict.value,
        "reported_at": feedback.reported_at.isoformat() if feedback.reported_at else None,
        "source": feedback.source or UNKNOWN_SOURCE,
        "reporter": feedback.reporter,
    }
