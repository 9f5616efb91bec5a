"""Feedback as alert observations: one per report, on a trusted time."""

import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.alerts.windows import Admission, ScopeWindow, WindowSpec
from stream.pipeline.feedback import process_feedback
from stream.pipeline.signals import Signal
from stream.records import RawRecord
from tests.support import hostile_payloads

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
    admitted = [window.add(WindowSpec(), o) for o in signal.observations]
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


def test_signals_carry_the_reporter_and_older_workers_signals_still_decode() -> None:
    (signal,) = run([report(0, "t1", "ann")]).signals()
    assert Signal.decode(signal.encode()) == signal
    older = {"kind": "negative_feedback", "scope": "air", "observations": [[1.0, True, "t1", ""]]}
    assert Signal.decode(json.dumps(older).encode()).observations[0].reporter is None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(hostile_payloads, min_size=1, max_size=5), st.none() | st.floats())
def test_any_feedback_is_accepted_or_dead_lettered_and_every_output_can_be_produced(
    payloads: list[bytes], timestamp: float | None
) -> None:
    records = [RawRecord("tweets.feedback", 0, n, timestamp, v) for n, v in enumerate(payloads)]
    outcome = run(records)
    assert len(outcome.accepted) + len(outcome.dead_letters) == len(records)
    assert len(outcome.observations) == len(outcome.accepted)
    for message in (*(report for _, report in outcome.accepted), *outcome.dead_letters):
        message.model_dump_json()
    for signal in outcome.signals():
        assert Signal.decode(signal.encode()) == signal
