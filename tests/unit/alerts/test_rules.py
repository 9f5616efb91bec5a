"""The default adaptive rule on synthetic traffic at three volumes and on a daily cycle, run
through the worker's pipeline (the harness eval-alerts uses) with the human-label scorer."""

import numpy as np
import pytest

from schemas import Alert
from stream.settings import Settings
from stream.tools.eval_alerts import LabelledTweet, LabelScorer, replay_alerts

SETTINGS = Settings(label_shift=False)
STEP_S = SETTINGS.alert_step_s
T0 = 1_700_000_000.0
HOUR = 3600.0


def steady(
    rng: np.random.Generator, per_min: float, start: float, end: float, share: float
) -> list[tuple[float, bool]]:
    """Poisson arrivals at `per_min` tweets a minute, each negative with probability `share`."""
    n = rng.poisson(per_min * (end - start) / 60)
    times = np.sort(rng.uniform(start, end, n))
    return [(float(t), bool(rng.random() < share)) for t in times]


def replay(traffic: list[tuple[float, bool]], after: float = float("-inf")) -> list[Alert]:
    """Raised alerts whose window ends after `after` (earlier ones are the warm-up's)."""
    rows = [
        LabelledTweet(t, "brand", f"tweet {n}", "negative" if negative else "positive", str(n))
        for n, (t, negative) in enumerate(sorted(traffic))
    ]
    alerts = replay_alerts(SETTINGS, LabelScorer(rows), rows, shift=False)
    return [a for a in alerts if a.window_end.timestamp() > after]


@pytest.mark.parametrize("per_min", [1, 20, 200])
def test_steady_traffic_however_negative_raises_nothing(per_min: int) -> None:
    rng = np.random.default_rng(per_min)
    for share in (0.67, 0.95):
        traffic = steady(rng, per_min, T0 - HOUR, T0 + HOUR, share)
        assert replay(traffic, after=T0) == [], f"{per_min}/min at {share:.0%} negative"


@pytest.mark.parametrize("per_min", [1, 20, 200])
def test_a_burst_of_three_times_the_usual_negatives_alerts_within_one_step(per_min: int) -> None:
    rng = np.random.default_rng(10 + per_min)
    share = 2 / 3
    usual = per_min * share * 5  # negatives in a 5-minute window
    extra = max(8.0, 3 * usual)  # a burst of 3x the usual count, and at least 8
    history = steady(rng, per_min, T0 - 2 * HOUR, T0 + 600, share)
    burst_start = T0 + 300
    burst = [(burst_start + 120 * k / extra, True) for k in range(int(np.ceil(extra)))]
    raised = replay(history + burst, after=T0)
    assert raised, f"{per_min}/min: burst of {len(burst)} extra negatives not raised"
    end = raised[0].window_end.timestamp()
    assert burst_start <= end <= burst_start + 120 + STEP_S
    assert "expected from this scope's last" in raised[0].threshold


def test_a_daily_cycle_raises_nothing() -> None:
    rng = np.random.default_rng(3)
    traffic: list[tuple[float, bool]] = []
    for minute in range(2 * 24 * 60):  # two days; 1 to 19 tweets a minute
        start = T0 + 60 * minute
        per_min = 10 * (1 + 0.9 * np.sin(2 * np.pi * (minute / 1440 - 0.375)))
        traffic += steady(rng, per_min, start, start + 60, 2 / 3)
    assert replay(traffic, after=T0 + 24 * HOUR) == []  # once it has a day of history


def test_a_brand_seen_for_the_first_time_alerts_on_a_burst_of_thirty_negatives() -> None:
    burst = [(T0 + 4 * k, True) for k in range(30)]
    [alert] = replay(burst)
    assert alert.count == 30
    assert "no history yet (cold-start floor 30)" in alert.threshold
    assert replay(burst[:29]) == []


def test_a_new_brand_with_heavy_ordinary_traffic_alerts_once_then_learns_its_rate() -> None:
    """The documented cost of the cold-start floor: nothing tells a first sight of ordinary
    traffic from a burst, so one alert, resolved as soon as the brand has history."""
    rng = np.random.default_rng(5)
    raised = replay(steady(rng, 20, T0, T0 + 6 * HOUR, 2 / 3))
    assert len(raised) == 1 and raised[0].window_end.timestamp() < T0 + 330
