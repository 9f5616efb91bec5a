"""The bench's figures from output timestamps: per-second pace, stalls, spreads."""

from __future__ import annotations

from bench.stats import backlog_pace, per_second_counts, spread


def stamps(per_second: list[int], start_ms: int = 1_700_000_000_000) -> dict[str, int]:
    """Output events spread evenly inside each second, `per_second[i]` of them in second i."""
    out: dict[str, int] = {}
    for second, count in enumerate(per_second):
        for index in range(count):
            out[f"b{second}-{index}"] = start_ms + second * 1000 + index * 1000 // count
    return out


def test_per_second_counts_keep_empty_seconds() -> None:
    assert per_second_counts([0, 999, 1000, 3500]) == [2, 1, 0, 1]
    assert per_second_counts([]) == []


def test_a_steady_drain_has_no_stall() -> None:
    pace = backlog_pace(stamps([300, 2000, 2100, 1900, 2000, 50]), "b")
    assert pace == {
        "median_per_s": 2000.0,
        "min_per_s": 1900,
        "stalled_seconds": [],
        "stall": False,
    }


def test_a_second_below_half_the_median_is_a_stall() -> None:
    pace = backlog_pace(stamps([2000, 2000, 2000, 200, 900, 2000, 2000, 10]), "b")
    assert pace["stall"] is True
    assert pace["stalled_seconds"] == [3, 4]
    assert pace["min_per_s"] == 200
    assert pace["median_per_s"] == 2000.0


def test_the_partial_first_and_last_seconds_are_not_stalls() -> None:
    pace = backlog_pace(stamps([1, 2000, 2000, 2000, 1]), "b")
    assert pace["stall"] is False
    assert pace["min_per_s"] == 2000


def test_an_empty_second_inside_the_drain_is_a_stall() -> None:
    pace = backlog_pace(stamps([500, 1000, 0, 1000, 1000, 500]), "b")
    assert pace["stalled_seconds"] == [2]
    assert pace["min_per_s"] == 0


def test_only_the_phase_prefix_counts() -> None:
    mixed = stamps([1000, 1000, 1000, 1000]) | {"p1": 1_700_000_001_500}
    assert backlog_pace(mixed, "p") == {}
    assert backlog_pace(mixed, "b")["min_per_s"] == 1000


def test_too_short_a_drain_has_no_inner_second() -> None:
    assert backlog_pace(stamps([10, 10]), "b") == {}


def test_spread_is_median_and_range() -> None:
    assert spread([4000.0, 3000.0, 5000.0]) == {"median": 4000.0, "min": 3000.0, "max": 5000.0}
