"""Feedback as alert observations: one per report, on a trusted time."""

import json
from datetime import UTC, datetime

from stream.alerts.detector import window_spec_from
from stream.alerts.windows import Admission, ScopeWindow
from stream.pipeline.feedback import process_feedback
from stream.pipeline.signals import SignalBatch
from stream.records import RawRecord
from stream.settings import Settings

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def report(offset: int, tweet_id: str, user: str | None, **extra: str) -> RawRecord:
    value = {"tweet_id": tweet_id, "verdict": "wrong", "brand": "air", **extra}
    if user is not None:
        value["user"] = user
    return RawRecord("tweets.feedback", 0, offset, NOW.timestamp(), json.dumps(value).encode())


def run(records: list[RawRecord]):
    return process_feedback(
        records,
        max_payload_bytes=4096,
        deadletter_payload_bytes=64,
        now=NOW,
        event_time_max_ahead_s=300,
    )


def test_three_users_reporting_one_tweet_count_three_and_a_repeated_report_once() -> None:
    outcome = run(
        [
            report(0, "t1", "ann"),
            report(1, "t1", "bob"),
            report(2, "t1", "cat"),
            report(3, "t1", "ann"),  # ann's report delivered again
            report(4, "t1", None),
            report(5, "t1", None),
        ]
    )
    (signal,) = outcome.signals()
    assert signal.scope == "air"
    window = ScopeWindow()
    spec = window_spec_from(Settings())
    admitted = [window.add(spec, o, None) for o in signal.observations]
    assert admitted == [Admission.COUNTED] * 3 + [Admission.DUPLICATE] + [
        Admission.COUNTED,
        Admission.DUPLICATE,  # anonymous reports of one tweet cannot be told apart
    ]


def test_a_report_dated_in_the_future_is_counted_at_arrival() -> None:
    outcome = run(
        [
            report(0, "t1", "ann", reported_at="2036-01-01T00:00:00Z"),
            report(1, "t2", "ann", reported_at="2026-03-01T11:59:00Z"),
        ]
    )
    (signal,) = outcome.signals()
    assert [o.t for o in signal.observations] == [
        NOW.timestamp(),
        datetime(2026, 3, 1, 11, 59, tzinfo=UTC).timestamp(),
    ]
    assert outcome.clamped == 1
    assert outcome.accepted[0][1].reported_at == datetime(2036, 1, 1, tzinfo=UTC)


def test_signals_carry_the_reporter() -> None:
    (signal,) = run([report(0, "t1", "ann")]).signals()
    assert SignalBatch.decode(SignalBatch((signal,)).encode()).signals == (signal,)
