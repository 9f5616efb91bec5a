"""User feedback: validated like tweets, counted for alerts, kept for retraining."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas import AlertKind, DeadLetter, Feedback, FeedbackVerdict
from stream.intake import RawRecord, Rejection, dead_letter, parse_message
from stream.scoring import record_time
from stream.signals import Signal, group_by_scope, scope_of
from stream.windows import Observation


@dataclass
class FeedbackOutcome:
    accepted: list[tuple[RawRecord, Feedback]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def signals(self, now: datetime) -> list[Signal]:
        """A report that a prediction was wrong is what the feedback window counts."""
        return group_by_scope(
            AlertKind.NEGATIVE_FEEDBACK,
            (
                (
                    scope_of(feedback.brand),
                    Observation(
                        t=(feedback.reported_at or record_time(record, now)).timestamp(),
                        negative=feedback.verdict is FeedbackVerdict.WRONG,
                        tweet_id=feedback.tweet_id,
                        text=feedback.text or feedback.comment or "",
                    ),
                )
                for record, feedback in self.accepted
            ),
        )


def process_feedback(
    records: Sequence[RawRecord],
    *,
    max_payload_bytes: int,
    deadletter_payload_bytes: int,
    now: datetime,
) -> FeedbackOutcome:
    outcome = FeedbackOutcome()
    for record in records:
        parsed = parse_message(record.value, Feedback, max_payload_bytes)
        if isinstance(parsed, Rejection):
            outcome.dead_letters.append(dead_letter(record, parsed, deadletter_payload_bytes, now))
        else:
            outcome.accepted.append((record, parsed))
    return outcome


def labelled_example(feedback: Feedback) -> dict[str, Any] | None:
    """A training row (text and the label users say is true), when the feedback has both."""
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
    }
