"""Deciding windows boundary by boundary: raise once, resolve, cool down, say when late."""

import csv
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas import AlertKind, AlertStatus
from stream.alerts.detector import ScopeState, detectors_from, what_it_is_about
from stream.alerts.rules import poisson_upper_tail
from stream.alerts.terms import TermCounts, tokens
from stream.alerts.windows import Observation, WindowCounts
from stream.settings import Settings

DETECTORS = detectors_from(Settings())
SENTIMENT = DETECTORS[AlertKind.NEGATIVE_SENTIMENT]
FEEDBACK = DETECTORS[AlertKind.NEGATIVE_FEEDBACK]
T0 = 1_700_000_000 - 1_700_000_000 % 3600
LIVE = datetime.fromtimestamp(T0 + 400, tz=UTC)


def burst(start: float, count: int, prefix: str = "b") -> list[Observation]:
    return [Observation(start + 4 * n, 1, f"{prefix}{n}", "angry") for n in range(count)]


def test_a_burst_raises_once_resolves_when_the_window_moves_past_it_then_cools_down() -> None:
    state = ScopeState()
    SENTIMENT.admit(state, burst(T0, 30), None, LIVE)
    [raised, resolved] = SENTIMENT.evaluate(state, "air", T0 + 900, LIVE)
    assert (raised.status, raised.count, raised.total) == (AlertStatus.RAISED, 30, 30)
    assert raised.window_end.timestamp() == T0 + 120  # the first boundary holding all 30
    assert resolved.status is AlertStatus.RESOLVED and not state.alert.active
    SENTIMENT.admit(state, burst(T0 + 1000, 60, "again"), T0 + 900, LIVE)
    assert SENTIMENT.evaluate(state, "air", T0 + 1400, LIVE) == []  # 600 s cooldown


def test_empty_windows_are_skipped_unless_an_alert_is_open() -> None:
    state = ScopeState()
    SENTIMENT.admit(state, burst(T0, 3), None, LIVE)
    assert SENTIMENT.evaluate(state, "air", T0 + 86_400, LIVE) == []
    assert not SENTIMENT.needs_evaluation(state) and state.evaluated_to == T0 + 86_400


def test_an_alert_raised_long_after_its_window_says_it_was_raised_on_catch_up() -> None:
    state = ScopeState()
    SENTIMENT.admit(state, burst(T0, 30), None, LIVE)
    hours_later = datetime.fromtimestamp(T0 + 3 * 3600, tz=UTC)
    [alert, _] = SENTIMENT.evaluate(state, "air", T0 + 900, hours_later)
    assert alert.on_catch_up and alert.delay_s == 3 * 3600 - 120
    state = ScopeState()
    SENTIMENT.admit(state, burst(T0, 30), None, LIVE)
    live = datetime.fromtimestamp(T0 + 120 + 60 + 15, tz=UTC)
    assert not SENTIMENT.evaluate(state, "air", T0 + 150, live)[0].on_catch_up


def test_three_feedback_reports_in_five_minutes_raise_spread_ones_do_not() -> None:
    close, spread = ScopeState(), ScopeState()
    reports = [Observation(T0 + 60 * n, 1, "t", reporter=f"u{n}") for n in range(3)]
    FEEDBACK.admit(close, reports, None, LIVE)
    spread_reports = [Observation(T0 + 400 * n, 1, "t", reporter=f"u{n}") for n in range(3)]
    FEEDBACK.admit(spread, spread_reports, None, LIVE)
    assert [a.status for a in FEEDBACK.evaluate(close, "air", T0 + 300, LIVE)] == ["raised"]
    assert FEEDBACK.evaluate(spread, "air", T0 + 3000, LIVE) == []


def test_a_2036_tweet_is_clamped_to_the_clock() -> None:
    state = ScopeState()
    future = datetime(2036, 1, 1, tzinfo=UTC).timestamp()
    admitted = SENTIMENT.admit(state, [Observation(future, 1, "liar")], None, LIVE)
    assert admitted.clamped == 1 and max(state.window.buckets) <= LIVE.timestamp()


def test_an_alert_stays_bounded_whatever_its_examples() -> None:
    state = ScopeState()
    huge = [Observation(T0 + n, 1, f"h{n}", "€" * 16_384) for n in range(60)]
    SENTIMENT.admit(state, huge, None, LIVE)
    [alert, *_] = SENTIMENT.evaluate(state, "air", T0 + 900, LIVE)
    assert len(alert.model_dump_json().encode()) < 8_000
    assert len(json.dumps(state.to_dict()).encode()) < 200_000


def test_poisson_upper_tail_matches_closed_forms() -> None:
    assert poisson_upper_tail(0, 3.0) == 1.0
    assert poisson_upper_tail(1, 1.0) == pytest.approx(1 - math.exp(-1))
    assert poisson_upper_tail(3, 2.0) == pytest.approx(1 - math.exp(-2) * (1 + 2 + 2))
    assert poisson_upper_tail(30, 10.0) == pytest.approx(2.50995e-7, rel=1e-4)
    assert poisson_upper_tail(5000, 1667.0) < 1e-300
    assert poisson_upper_tail(2.5, 2.0) == poisson_upper_tail(3, 2.0)


def test_an_alert_says_what_the_burst_is_about_against_the_scopes_usual_complaints() -> None:
    demo = Path(__file__).parents[3] / "data" / "demo"

    def texts(name: str) -> list[str]:
        with (demo / name).open(encoding="utf-8", newline="") as handle:
            return [row["text"] for row in csv.DictReader(handle)]

    usual = TermCounts()
    for text in texts("tweets.csv"):
        usual.add(tokens(text))
    burst = [(f"b{n}", text) for n, text in enumerate(texts("burst.csv") * 2)]  # and copies
    window = WindowCounts(0, 300, float(len(burst)), len(burst), tuple(burst))
    terms, examples = what_it_is_about(window, usual, "airparadis", 3)
    named = {t.term for t in terms}
    assert {"cancelled", "refund"} <= named and "flight" not in named
    assert "airparadis" not in named
    assert len(examples) == 3 and len({text for _, text in examples}) == 3
    assert any(t.term in examples[0][1].lower() for t in terms)
