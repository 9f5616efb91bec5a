"""Feedback as alert observations (one per reporter, on a trusted time), training rows marked
with their source, and the web front's stamp."""

import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import Feedback
from stream.alerts.detector import window_spec_from
from stream.alerts.windows import Admission, ScopeWindow
from stream.pipeline.feedback import labelled_example, process_feedback, sent_over_http
from stream.pipeline.signals import SignalBatch
from stream.records import RawRecord
from stream.settings import Settings
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
            report(4, "t2", "ann"),  # and another of ann's complaints
        ]
    )
    (signal,) = outcome.signals()
    assert signal.scope == "air"
    window = ScopeWindow()
    spec = window_spec_from(Settings())
    admitted = [window.add(spec, o, None) for o in signal.observations]
    assert admitted == [Admission.COUNTED] * 3 + [Admission.DUPLICATE] * 2


def test_a_report_naming_no_reporter_is_dead_lettered_with_the_reason() -> None:
    outcome = run([report(0, "t1", None), report(1, "t2", ""), report(2, "t3", "ann")])
    assert [r.tweet_id for _, r in outcome.accepted] == ["t3"]
    assert [(d.offset, d.reason) for d in outcome.dead_letters] == [
        (0, "no_reporter"),
        (1, "invalid_field"),  # an empty name is no name
    ]
    assert "reporter" in outcome.dead_letters[0].detail


def test_only_reports_with_a_source_feed_the_live_prior() -> None:
    labelled = {"predicted_label": "positive", "text": "lost my bag"}
    outcome = run(
        [
            report(0, "t1", "ann", source="kafka:User:support-app", **labelled),
            report(1, "t2", "bob", **labelled),  # no source: a writer that did not say
            report(2, "t3", "cat", source="http"),  # no label to learn
        ]
    )
    assert outcome.known_labels() == [("air", "negative")]
    assert run([report(0, "t1", "ann", source="anything")]).dead_letters[0].reason == (
        "invalid_field"
    )


def test_training_rows_carry_their_source_and_reporter() -> None:
    base = {"tweet_id": "t1", "verdict": "wrong", "predicted_label": "positive", "text": "late"}
    from_app = labelled_example(
        Feedback.model_validate({**base, "user": "ann", "source": "kafka:User:support-app"})
    )
    assert from_app is not None
    assert (from_app["source"], from_app["reporter"], from_app["label"]) == (
        "kafka:User:support-app",
        "ann",
        "negative",
    )
    unvouched = labelled_example(Feedback.model_validate({**base, "reporter": "bob"}))
    assert unvouched is not None and unvouched["source"] == "unknown"


def test_the_web_front_stamps_its_source_whatever_the_body_claims() -> None:
    claimed = Feedback.model_validate(
        {"tweet_id": "t1", "verdict": "wrong", "source": "kafka:User:support-app"}
    )
    sent = sent_over_http(claimed)
    assert (sent.source, sent.reporter) == ("http", "token-holder")
    named = sent_over_http(claimed.model_copy(update={"reporter": "ann"}))
    assert (named.source, named.reporter) == ("http", "ann")
    assert Feedback.model_validate_json(sent.model_dump_json()) == sent


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
        assert SignalBatch.decode(SignalBatch((signal,)).encode()).signals == (signal,)
