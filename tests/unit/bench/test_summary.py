"""Repeated bench runs folded per contender, the ratios and the goals of issue 14."""

from __future__ import annotations

from typing import Any

from bench.summary import contender_row, goals, ratios


def run(tweets_per_s: float, p99: float | None = None, stall: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tweets_per_s": tweets_per_s,
        "peak_rss_mb": 150 + tweets_per_s / 1000,
        "cpu_cores_busy_during_backlog": 1.0,
        "backlog_pace": {
            "median_per_s": tweets_per_s,
            "min_per_s": int(tweets_per_s / (4 if stall else 1.2)),
            "stalled_seconds": [5] if stall else [],
            "stall": stall,
        },
    }
    if p99 is not None:
        out["paced_latency_ms"] = {"p50": p99 / 4, "p95": p99 / 2, "p99": p99, "max": p99 * 2}
    return out


def test_a_row_holds_the_median_the_range_and_the_worst_run() -> None:
    row = contender_row("w", "worker", [run(5000, 90), run(4000, 400, stall=True), run(6000, 120)])
    assert row["tweets_per_s"] == 5000
    assert row["tweets_per_s_spread"] == {"min": 4000, "max": 6000}
    assert row["tweets_per_s_runs"] == [5000, 4000, 6000]
    assert row["peak_rss_mb"] == 156
    assert row["paced_latency_ms"]["p99"] == 400
    assert row["paced_p99_ms_runs"] == [90, 400, 120]
    assert row["backlog_min_per_s"] == 1000
    assert row["backlog_stall_runs"] == 1
    assert len(row["per_run"]) == 3


def test_a_peer_without_paced_phase_has_no_paced_figures() -> None:
    row = contender_row("plain", "plain_loop", [run(7000)])
    assert "paced_latency_ms" not in row
    assert row["backlog_stall_runs"] == 0


def rows() -> list[dict[str, Any]]:
    return [
        contender_row("alo", "worker", [run(8000, 100), run(8000, 200), run(8000, 240)]),
        contender_row("eos", "worker_exactly_once", [run(6000, 300)]),
        contender_row("plain", "plain_loop", [run(7000)]),
        contender_row("quix", "quix", [run(3000)]),
    ]


def test_ratios_use_the_best_worker_and_the_default_configs() -> None:
    assert ratios(10_000, rows()) == {
        "best_worker_vs_raw_scorer": 0.8,
        "best_worker_vs_plain_loop": 1.143,
        "best_worker_vs_quix": 2.667,
        "exactly_once_vs_at_least_once": 0.75,
    }


def test_ratios_leave_out_contenders_that_did_not_run() -> None:
    only_workers = rows()[:1]
    assert ratios(16_000, only_workers) == {"best_worker_vs_raw_scorer": 0.5}
    assert ratios(16_000, rows()[2:]) == {}


def test_goals_judge_each_ratio_the_paced_p99_stalls_and_rss() -> None:
    table = rows()
    judged = {goal.text: goal for goal in goals(ratios(12_000, table), table)}
    assert not judged["best_worker_vs_raw_scorer >= 0.8"].met
    assert judged["best_worker_vs_plain_loop >= 1.0"].met
    assert judged["best_worker_vs_quix >= 2.0"].met
    assert judged["exactly_once_vs_at_least_once >= 0.7"].met
    paced = judged["default worker paced p99 <= 250 ms in every run"]
    assert paced.met
    assert paced.measured == "3 of 3 (100, 200, 240 ms)"
    assert judged["alo: peak RSS <= 300 MB"].met
    assert judged["eos: no stall in the backlog"].met


def test_one_slow_paced_run_misses_the_latency_goal() -> None:
    table = [contender_row("alo", "worker", [run(8000, 100), run(8000, 251), run(8000, 90)])]
    judged = {goal.text: goal for goal in goals(ratios(10_000, table), table)}
    assert not judged["default worker paced p99 <= 250 ms in every run"].met
    assert judged["default worker paced p99 <= 250 ms in every run"].measured.startswith("2 of 3")


def test_a_stalled_run_misses_the_no_stall_goal() -> None:
    table = [contender_row("alo", "worker", [run(8000, 100), run(8000, 100, stall=True)])]
    judged = {goal.text: goal for goal in goals(ratios(10_000, table), table)}
    assert not judged["alo: no stall in the backlog"].met
    assert judged["alo: no stall in the backlog"].measured.startswith("1 of 2 runs stalled")
