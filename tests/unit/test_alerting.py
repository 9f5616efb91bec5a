"""Raise once, stay quiet while the condition holds, resolve, cool down: on event time."""

import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from schemas import AlertKind, AlertStatus
from stream.alerts.detector import Detector, LateDrop, ScopeState
from stream.alerts.rules import AdaptiveNegativeRule, NegativeFeedbackRule, poisson_upper_tail
from stream.alerts.windows import Observation, WindowSpec

SPEC = WindowSpec(size_s=300, step_s=60, lateness_s=120, baseline_s=3600)
T0 = 1_700_000_040
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SENTIMENT = Detector(
    AlertKind.NEGATIVE_SENTIMENT,
    AdaptiveNegativeRule(min_negatives=8, min_ratio=3.0, cold_start_negatives=6, prior_s=60),
    SPEC,
    cooldown_s=600,
)
# alerts from the first few negatives, for tests about time and duplicates, not thresholds
EAGER = Detector(
    AlertKind.NEGATIVE_SENTIMENT,
    AdaptiveNegativeRule(
        min_negatives=5, min_ratio=1.0, max_p_value=1.0, cold_start_negatives=5, prior_s=60
    ),
    SPEC,
    cooldown_s=600,
)
FEEDBACK = Detector(AlertKind.NEGATIVE_FEEDBACK, NegativeFeedbackRule(3), SPEC, cooldown_s=600)


def tweets(start: float, count: int, negative: bool, every_s: float = 1.0) -> list[Observation]:
    return [
        Observation(start + n * every_s, negative, f"{'n' if negative else 'p'}{start + n}", "x")
        for n in range(count)
    ]


def test_below_the_minimum_count_or_share_nothing_is_raised() -> None:
    state = ScopeState()
    assert SENTIMENT.observe(state, "air", tweets(T0, 4, True), NOW).alerts == []
    assert SENTIMENT.observe(state, "air", tweets(T0 + 5, 10, False), NOW).alerts == []
    assert SENTIMENT.observe(state, "air", tweets(T0 + 20, 3, True), NOW).alerts == []  # 7 < 8


def test_a_burst_raises_exactly_one_alert_with_its_figures() -> None:
    state = ScopeState()
    alerts = SENTIMENT.observe(state, "air", tweets(T0, 10, True), NOW).alerts
    assert [a.status for a in alerts] == [AlertStatus.RAISED]
    alert = alerts[0]
    assert (alert.kind, alert.scope, alert.count, alert.total, alert.share) == (
        AlertKind.NEGATIVE_SENTIMENT,
        "air",
        10,
        10,
        1.0,
    )
    assert alert.threshold.startswith(
        "10 negatives in 5 min, 5.0x the 2.0 expected from no history"
    )
    assert alert.window_end.timestamp() - alert.window_start.timestamp() == 300
    assert len(alert.examples) == 3
    assert alert.raised_at == NOW
    assert SENTIMENT.observe(state, "air", tweets(T0 + 10, 20, True), NOW).alerts == []


def test_it_resolves_when_the_window_moves_past_the_burst_then_cools_down() -> None:
    state = ScopeState()
    raised = SENTIMENT.observe(state, "air", tweets(T0, 10, True), NOW).alerts
    resolved = SENTIMENT.observe(state, "air", tweets(T0 + 400, 3, False), NOW).alerts
    assert [a.status for a in resolved] == [AlertStatus.RESOLVED]
    assert resolved[0].alert_id == raised[0].alert_id
    # a new burst inside the cooldown stays quiet; after it, it is raised again
    assert SENTIMENT.observe(state, "air", tweets(T0 + 700, 40, True), NOW).alerts == []
    later = SENTIMENT.observe(state, "air", tweets(T0 + 1100, 60, True), NOW).alerts
    assert [a.status for a in later] == [AlertStatus.RAISED]
    assert later[0].alert_id != raised[0].alert_id


def test_a_scope_that_is_always_negative_needs_to_beat_its_own_rate() -> None:
    state = ScopeState()
    history = [
        Observation(T0 + n * 10, n % 10 < 7, f"h{n}", "x") for n in range(300)
    ]  # 70% negative for 50 minutes: 21 negatives in every window, 10x the cold-start prior
    alerts = SENTIMENT.observe(state, "grumpy", history[:30], NOW).alerts
    assert [a.status for a in alerts] == [AlertStatus.RAISED]  # no baseline yet
    assert [a.status for a in SENTIMENT.observe(state, "grumpy", history[30:], NOW).alerts] == [
        AlertStatus.RESOLVED
    ]
    burst = tweets(T0 + 3000 + 700, 60, True)
    assert [a.status for a in SENTIMENT.observe(state, "grumpy", burst, NOW).alerts] == [
        AlertStatus.RAISED
    ]


def test_three_feedback_reports_in_five_minutes_raise_spread_ones_do_not() -> None:
    close = ScopeState()
    assert FEEDBACK.observe(close, "global", tweets(T0, 2, True, every_s=60), NOW).alerts == []
    alerts = FEEDBACK.observe(close, "global", tweets(T0 + 120, 1, True), NOW).alerts
    assert [a.kind for a in alerts] == [AlertKind.NEGATIVE_FEEDBACK]

    spread = ScopeState()
    for minute in (0, 7, 14):
        assert (
            FEEDBACK.observe(spread, "global", tweets(T0 + 60 * minute, 1, True), NOW).alerts == []
        )


def test_state_survives_a_round_trip_so_a_restart_does_not_raise_again() -> None:
    state = ScopeState()
    assert SENTIMENT.observe(state, "air", tweets(T0, 10, True), NOW).alerts
    restored = ScopeState.from_dict(state.to_dict())
    assert SENTIMENT.observe(restored, "air", tweets(T0 + 10, 6, True), NOW).alerts == []
    assert ScopeState.from_dict(None) == ScopeState()


def test_replaying_the_same_events_gives_the_same_alerts() -> None:
    events = tweets(T0, 10, True) + tweets(T0 + 400, 3, False)
    first, second = ScopeState(), ScopeState()
    a = [SENTIMENT.observe(first, "air", [e], NOW).alerts for e in events]
    b = [SENTIMENT.observe(second, "air", [e], NOW).alerts for e in events]
    assert a == b


def test_poisson_upper_tail_matches_closed_forms() -> None:
    assert poisson_upper_tail(0, 3.0) == 1.0
    assert poisson_upper_tail(1, 1.0) == pytest.approx(1 - math.exp(-1))
    assert poisson_upper_tail(3, 2.0) == pytest.approx(1 - math.exp(-2) * (1 + 2 + 2))
    assert poisson_upper_tail(30, 10.0) == pytest.approx(
        2.50995e-7, rel=1e-4
    )  # scipy.stats.poisson.sf(29, 10)
    assert poisson_upper_tail(5000, 1667.0) < 1e-300
    assert 0.49 < poisson_upper_tail(1667, 1667.0) < 0.51


FUTURE_2036 = datetime(2036, 1, 1, tzinfo=UTC).timestamp()
LIVE = datetime.fromtimestamp(T0 + 3600, tz=UTC)  # the alerts agent's clock, ahead of T0


def test_a_2036_tweet_is_clamped_to_the_clock_and_a_burst_still_raises() -> None:
    state = ScopeState()
    mis_dated = EAGER.observe(state, "air", [Observation(FUTURE_2036, False, "2036", "")], LIVE)
    assert mis_dated.clamped == 1 and mis_dated.alerts == []
    assert state.window.watermark == LIVE.timestamp()
    burst = EAGER.observe(state, "air", tweets(LIVE.timestamp(), 10, True), LIVE)
    assert [a.status for a in burst.alerts] == [AlertStatus.RAISED]
    assert (burst.alerts[0].count, burst.alerts[0].total) == (10, 11)
    assert burst.late == [] and burst.clamped == 0


def test_events_within_the_tolerance_keep_their_claimed_time() -> None:
    state = ScopeState()
    ahead = LIVE.timestamp() + SPEC.max_ahead_s
    observed = EAGER.observe(state, "air", [Observation(ahead, True, "a", "")], LIVE)
    assert observed.clamped == 0 and state.window.watermark == ahead


def test_late_drops_are_reported_with_how_late_they_were() -> None:
    state = ScopeState()
    EAGER.observe(state, "air", tweets(T0 + 1000, 1, False), NOW)
    observed = EAGER.observe(
        state,
        "air",
        [
            Observation(T0 + 1000 - 121, True, "late-1", ""),
            Observation(T0, True, "late-2", ""),
            Observation(T0 + 1000 - 120, True, "on-time", ""),
        ],
        NOW,
    )
    # reported in event-time order, the order the window counts them in
    assert observed.late == [LateDrop("late-2", 1000.0), LateDrop("late-1", 121.0)]
    assert state.window.current(SPEC).total == 2


def test_the_same_burst_applied_twice_counts_as_once() -> None:
    burst = tweets(T0, 30, True) + tweets(T0 + 5, 10, False)
    once, twice = ScopeState(), ScopeState()
    first = EAGER.observe(once, "air", burst, NOW)
    EAGER.observe(twice, "air", burst, NOW)
    again = EAGER.observe(twice, "air", burst, NOW)  # redelivered after a crash
    assert again.duplicates == len(burst) and again.alerts == [] and again.late == []
    assert twice.to_dict() == once.to_dict()
    counts = twice.window.current(SPEC)
    assert (counts.negatives, counts.total) == (first.alerts[0].count, first.alerts[0].total)
    assert (counts.negatives, counts.total) == (30, 40)


def test_duplicates_are_remembered_across_a_restart() -> None:
    state = ScopeState()
    EAGER.observe(state, "air", tweets(T0, 4, True), NOW)
    restored = ScopeState.from_dict(json.loads(json.dumps(state.to_dict())))
    redelivered = EAGER.observe(restored, "air", tweets(T0, 4, True), NOW)
    assert redelivered.duplicates == 4 and redelivered.alerts == []  # 4 < 5 negatives


def test_a_state_poisoned_by_an_older_version_is_repaired_on_load() -> None:
    """What a worker without the clamp wrote after a 2036 tweet and an alert it then
    resolved: the watermark and the cooldown in 2036, the real buckets pruned."""
    bucket_2036 = SPEC.bucket_of(FUTURE_2036)
    stored = {
        "window": {
            "buckets": {str(bucket_2036): [0, 1]},
            "examples": {},
            "watermark": FUTURE_2036,
            "dropped_late": 40,
        },
        "alert": {"active": False, "alert_id": None, "resolved_at_t": FUTURE_2036},
    }
    state = ScopeState.from_dict(json.loads(json.dumps(stored)))
    observed = EAGER.observe(state, "air", tweets(LIVE.timestamp(), 10, True), LIVE)
    assert observed.repaired and observed.late == []
    assert state.window.watermark < LIVE.timestamp() + SPEC.max_ahead_s
    assert state.alert.resolved_at_t == LIVE.timestamp()  # cooling down from now, not 2036
    later = LIVE + timedelta(seconds=EAGER.cooldown_s)
    alerts = EAGER.observe(state, "air", tweets(later.timestamp(), 10, True), later).alerts
    assert [a.status for a in alerts] == [AlertStatus.RAISED]
    assert (alerts[0].count, alerts[0].total) == (10, 10)  # the first 10 left the window
    healthy = EAGER.observe(state, "air", [], later)
    assert not healthy.repaired


def test_a_poisoned_state_without_a_cooldown_alerts_on_the_first_burst() -> None:
    state = ScopeState()
    state.window.add(SPEC, Observation(FUTURE_2036, False, "2036", ""))  # as before the clamp
    observed = EAGER.observe(state, "air", tweets(LIVE.timestamp(), 5, True), LIVE)
    assert observed.repaired
    assert [(a.status, a.count, a.total) for a in observed.alerts] == [(AlertStatus.RAISED, 5, 5)]


def test_a_batch_of_several_partitions_is_counted_in_event_time_order() -> None:
    """A consumer hands over each partition's backlog in its own order: one partition's
    fifteen minutes, then another's. Neither may make the other's tweets late."""
    state = ScopeState()
    partition_0 = tweets(T0, 30, False, every_s=30)  # 15 minutes
    partition_1 = [Observation(o.t, o.negative, f"p1-{o.tweet_id}", "") for o in partition_0]
    observed = EAGER.observe(state, "air", partition_0 + partition_1, NOW)
    assert observed.late == [] and observed.duplicates == 0
    assert sum(total for _, total in state.window.buckets.values()) == 60
