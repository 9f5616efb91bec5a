"""Raise once, stay quiet while the condition holds, resolve, cool down: on event time."""

import math
from datetime import UTC, datetime

import pytest

from schemas import AlertKind, AlertStatus
from stream.alerting import (
    AdaptiveNegativeRule,
    Detector,
    NegativeFeedbackRule,
    ScopeState,
    poisson_upper_tail,
)
from stream.windows import Observation, WindowSpec

SPEC = WindowSpec(size_s=300, step_s=60, lateness_s=120, baseline_s=3600)
T0 = 1_700_000_040
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SENTIMENT = Detector(
    AlertKind.NEGATIVE_SENTIMENT,
    AdaptiveNegativeRule(min_negatives=8, min_ratio=3.0, cold_start_negatives=6, prior_s=60),
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
    assert SENTIMENT.observe(state, "air", tweets(T0, 4, True), NOW) == []
    assert SENTIMENT.observe(state, "air", tweets(T0 + 5, 10, False), NOW) == []
    assert SENTIMENT.observe(state, "air", tweets(T0 + 20, 3, True), NOW) == []  # 7 < 8


def test_a_burst_raises_exactly_one_alert_with_its_figures() -> None:
    state = ScopeState()
    alerts = SENTIMENT.observe(state, "air", tweets(T0, 10, True), NOW)
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
    assert SENTIMENT.observe(state, "air", tweets(T0 + 10, 20, True), NOW) == []


def test_it_resolves_when_the_window_moves_past_the_burst_then_cools_down() -> None:
    state = ScopeState()
    raised = SENTIMENT.observe(state, "air", tweets(T0, 10, True), NOW)
    resolved = SENTIMENT.observe(state, "air", tweets(T0 + 400, 3, False), NOW)
    assert [a.status for a in resolved] == [AlertStatus.RESOLVED]
    assert resolved[0].alert_id == raised[0].alert_id
    # a new burst inside the cooldown stays quiet; after it, it is raised again
    assert SENTIMENT.observe(state, "air", tweets(T0 + 700, 40, True), NOW) == []
    later = SENTIMENT.observe(state, "air", tweets(T0 + 1100, 60, True), NOW)
    assert [a.status for a in later] == [AlertStatus.RAISED]
    assert later[0].alert_id != raised[0].alert_id


def test_a_scope_that_is_always_negative_needs_to_beat_its_own_rate() -> None:
    state = ScopeState()
    history = [
        Observation(T0 + n * 10, n % 10 < 7, f"h{n}", "x") for n in range(300)
    ]  # 70% negative for 50 minutes: 21 negatives in every window, 10x the cold-start prior
    alerts = SENTIMENT.observe(state, "grumpy", history[:30], NOW)
    assert [a.status for a in alerts] == [AlertStatus.RAISED]  # no baseline yet
    assert [a.status for a in SENTIMENT.observe(state, "grumpy", history[30:], NOW)] == [
        AlertStatus.RESOLVED
    ]
    burst = tweets(T0 + 3000 + 700, 60, True)
    assert [a.status for a in SENTIMENT.observe(state, "grumpy", burst, NOW)] == [
        AlertStatus.RAISED
    ]


def test_three_feedback_reports_in_five_minutes_raise_spread_ones_do_not() -> None:
    close = ScopeState()
    assert FEEDBACK.observe(close, "global", tweets(T0, 2, True, every_s=60), NOW) == []
    alerts = FEEDBACK.observe(close, "global", tweets(T0 + 120, 1, True), NOW)
    assert [a.kind for a in alerts] == [AlertKind.NEGATIVE_FEEDBACK]

    spread = ScopeState()
    for minute in (0, 7, 14):
        assert FEEDBACK.observe(spread, "global", tweets(T0 + 60 * minute, 1, True), NOW) == []


def test_state_survives_a_round_trip_so_a_restart_does_not_raise_again() -> None:
    state = ScopeState()
    assert SENTIMENT.observe(state, "air", tweets(T0, 10, True), NOW)
    restored = ScopeState.from_dict(state.to_dict())
    assert SENTIMENT.observe(restored, "air", tweets(T0 + 10, 6, True), NOW) == []
    assert ScopeState.from_dict(None) == ScopeState()


def test_replaying_the_same_events_gives_the_same_alerts() -> None:
    events = tweets(T0, 10, True) + tweets(T0 + 400, 3, False)
    first, second = ScopeState(), ScopeState()
    a = [SENTIMENT.observe(first, "air", [e], NOW) for e in events]
    b = [SENTIMENT.observe(second, "air", [e], NOW) for e in events]
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
