"""Repeated runs folded into one row per contender, and the issue's goals checked on them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.stats import spread

WORKER_ROLES = ("worker", "worker_exactly_once")
PACED_P99_GOAL_MS = 250.0
RSS_GOAL_MB = 300.0


def contender_row(name: str, role: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median tweets/s with its range; the worst run for latency, RSS and stalls, since a
    goal must hold in every run."""
    rates = spread([run["tweets_per_s"] for run in runs])
    paces = [run["backlog_pace"] for run in runs if run.get("backlog_pace")]
    row: dict[str, Any] = {
        "name": name,
        "role": role,
        "runs": len(runs),
        "tweets_per_s": rates["median"],
        "tweets_per_s_spread": {"min": rates["min"], "max": rates["max"]},
        "tweets_per_s_runs": [run["tweets_per_s"] for run in runs],
        "peak_rss_mb": max(run["peak_rss_mb"] for run in runs),
        "cpu_cores_busy_during_backlog": spread(
            [run["cpu_cores_busy_during_backlog"] for run in runs]
        )["median"],
        "backlog_min_per_s": min((pace["min_per_s"] for pace in paces), default=None),
        "backlog_stall_runs": sum(pace["stall"] for pace in paces),
        "per_run": runs,
    }
    caught_up = [run["alerts_caught_up_s"] for run in runs if "alerts_caught_up_s" in run]
    if caught_up:  # None: the alerts agent had not caught up within the timeout
        row["alerts_caught_up_s_runs"] = caught_up
    paced = [run["paced_latency_ms"] for run in runs if run.get("paced_latency_ms")]
    if paced:
        row["paced_latency_ms"] = max(paced, key=lambda figures: figures["p99"])
        row["paced_p99_ms_runs"] = [figures["p99"] for figures in paced]
    return row


def ratios(raw_scorer: float, rows: list[dict[str, Any]]) -> dict[str, float]:
    """The throughput ratios the issue's goals are stated in (medians over the runs); a
    ratio whose contender did not run is left out."""
    # reversed: a role's first row (its default config) is the one kept
    by_role = {row["role"]: row["tweets_per_s"] for row in reversed(rows)}
    workers = [row["tweets_per_s"] for row in rows if row["role"] in WORKER_ROLES]
    if not workers:
        return {}
    best = max(workers)
    out = {"best_worker_vs_raw_scorer": best / raw_scorer}
    if "plain_loop" in by_role:
        out["best_worker_vs_plain_loop"] = best / by_role["plain_loop"]
    if "quix" in by_role:
        out["best_worker_vs_quix"] = best / by_role["quix"]
    if "worker" in by_role and "worker_many_brands" in by_role:
        out["many_brands_vs_one_brand"] = by_role["worker_many_brands"] / by_role["worker"]
    if "worker" in by_role and "worker_shadow" in by_role:
        out["shadow_vs_without"] = by_role["worker_shadow"] / by_role["worker"]
    if "worker" in by_role and "worker_exactly_once" in by_role:
        out["exactly_once_vs_at_least_once"] = by_role["worker_exactly_once"] / by_role["worker"]
    return {name: round(value, 3) for name, value in out.items()}


@dataclass(frozen=True)
class Goal:
    text: str
    measured: str
    met: bool


RATIO_GOALS = {
    "best_worker_vs_raw_scorer": 0.8,
    "best_worker_vs_plain_loop": 1.0,
    "best_worker_vs_quix": 2.0,
    "exactly_once_vs_at_least_once": 0.7,
    "many_brands_vs_one_brand": 0.7,
    "shadow_vs_without": 0.6,  # issue 21
}


def goals(ratio_figures: dict[str, float], rows: list[dict[str, Any]]) -> list[Goal]:
    """Each goal of issue 14 that this run can judge, with the figure that judges it."""
    out = [
        Goal(f"{name} >= {floor}", f"{ratio_figures[name]:.2f}", ratio_figures[name] >= floor)
        for name, floor in RATIO_GOALS.items()
        if name in ratio_figures
    ]
    default = next((row for row in rows if row["role"] == "worker"), None)
    if default is not None and "paced_p99_ms_runs" in default:
        p99s = default["paced_p99_ms_runs"]
        within = sum(p99 <= PACED_P99_GOAL_MS for p99 in p99s)
        out.append(
            Goal(
                f"default worker paced p99 <= {PACED_P99_GOAL_MS:.0f} ms in every run",
                f"{within} of {len(p99s)} ({', '.join(f'{p99:.0f}' for p99 in p99s)} ms)",
                within == len(p99s),
            )
        )
    for row in rows:
        if row["role"] in WORKER_ROLES:
            out.append(
                Goal(
                    f"{row['name']}: no stall in the backlog",
                    f"{row['backlog_stall_runs']} of {row['runs']} runs stalled, "
                    f"slowest second {row['backlog_min_per_s']}/s",
                    row["backlog_stall_runs"] == 0,
                )
            )
            out.append(
                Goal(
                    f"{row['name']}: peak RSS <= {RSS_GOAL_MB:.0f} MB",
                    f"{row['peak_rss_mb']:.0f} MB",
                    row["peak_rss_mb"] <= RSS_GOAL_MB,
                )
            )
    return out
