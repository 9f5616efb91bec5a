"""The default adaptive rule on synthetic traffic at three volumes and on a daily cycle."""

from datetime import UTC, datetime

import numpy as np
import pytest

from schemas import Alert, AlertKind, AlertStatus
from stream.alerts.detector import ScopeState, detectors_from
from stream.alerts.windows import Observation
from stream.settings import Settings

DETECTOR = detectors_from(Settings())[AlertKind.NEGATIVE_SENTIMENT]
STEP_S = Settings().alert_step_s
T0 = 1_700_000_000.0
HOUR = 3600.0


def steady(
    rng: np.random.Generator, per_min: float, start: float, end: float, share: float
) -> list[tuple[float, bool]]:
    """Poisson arrivals at `per_min` tweets a minute, each negative with probability `share`."""
    n = rng.poisson(per_min * (end - start) / 60)
    times = np.sort(rng.uniform(start, end, n))
    return [(float(t), bool(rng.random() < share)) for t in times]


def replay(
    traffic: list[tuple[float, bool]], state: ScopeState | None = None
) -> list[tuple[float, Alert]]:
    """Feed the detector in 10-second batches, as the worker's micro-batches would;
    returns raised alerts with the event time of the batch that raised them."""
    state = state if state is not None else ScopeState()
    raised: list[tuple[float, Alert]] = []
    traffic = sorted(traffic)
    batch: list[Observation] = []
    for n, (t, negative) in enumerate(traffic):
        batch.append(Observation(t, negative, str(n), "angry" if negative else ""))
        if n + 1 == len(traffic) or traffic[n + 1][0] // 10 != t // 10:
            now = datetime.fromtimestamp(t, tz=UTC)
            alerts = DETECTOR.observe(state, "brand", batch, now).alerts
            raised += [(t, a) for a in alerts if a.status is AlertStatus.RAISED]
            batch = []
    return raised


@pytest.mark.parametrize("per_min", [1, 20, 500])
def test_steady_traffic_however_negative_raises_nothing(per_min: int) -> None:
    rng = np.random.default_rng(per_min)
    for share in (0.67, 0.95):
        history = steady(rng, per_min, T0 - HOUR, T0, share)
        later = steady(rng, per_min, T0, T0 + 3 * HOUR, share)
        warm = replay_state(history)
        assert replay(later, warm) == [], f"{per_min}/min at {share:.0%} negative"


@pytest.mark.parametrize("per_min", [1, 20, 500])
def test_a_burst_of_three_times_the_usual_negatives_alerts_within_one_step(per_min: int) -> None:
    rng = np.random.default_rng(10 + per_min)
    share = 2 / 3
    usual = per_min * share * 5  # negatives in a 5-minute window
    extra = max(8.0, 3 * usual)  # a burst of 3x the usual count, and at least 8
    history = steady(rng, per_min, T0 - 2 * HOUR, T0, share)
    background = steady(rng, per_min, T0, T0 + 600, share)
    burst_start = T0 + 300
    burst = [(burst_start + 120 * k / extra, True) for k in range(int(np.ceil(extra)))]
    raised = replay(background + burst, replay_state(history))
    assert raised, f"{per_min}/min: burst of {len(burst)} extra negatives not raised"
    at, alert = raised[0]
    assert burst_start <= at <= burst_start + 120 + STEP_S
    assert "expected from this scope's last" in alert.threshold


def test_a_daily_cycle_raises_nothing() -> None:
    rng = np.random.default_rng(3)
    traffic: list[tuple[float, bool]] = []
    for minute in range(3 * 24 * 60):  # three days; 2 to 38 tweets a minute, peak mid-afternoon
        start = T0 + 60 * minute
        per_min = 20 * (1 + 0.9 * np.sin(2 * np.pi * (minute / 1440 - 0.375)))
        traffic += steady(rng, per_min, start, start + 60, 2 / 3)
    warm = replay_state([e for e in traffic if e[0] < T0 + HOUR])
    assert replay([e for e in traffic if e[0] >= T0 + HOUR], warm) == []


def test_a_brand_seen_for_the_first_time_alerts_on_a_burst_of_thirty_negatives() -> None:
    burst = [(T0 + 4 * k, True) for k in range(30)]
    raised = replay(burst)
    assert len(raised) == 1
    at, alert = raised[0]
    assert alert.count == 30 and at == burst[-1][0]
    assert "no history yet (cold-start floor 30)" in alert.threshold
    assert replay(burst[:29]) == []


def test_a_new_brand_with_heavy_ordinary_traffic_alerts_once_then_learns_its_rate() -> None:
    """The documented cost of the cold-start floor: nothing tells a first sight of ordinary
    traffic from a burst, so one alert, resolved as soon as the brand has history."""
    rng = np.random.default_rng(5)
    raised = replay(steady(rng, 20, T0, T0 + 6 * HOUR, 2 / 3))
    assert len(raised) == 1 and raised[0][0] < T0 + 300


def replay_state(history: list[tuple[float, bool]]) -> ScopeState:
    """A detector state that has watched `history` (alerts raised meanwhile ignored)."""
    state = ScopeState()
    replay(history, state)
    return state
