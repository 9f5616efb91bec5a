"""Machine facts and the printed table."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: above 2 on this 2-core machine, others were busy."""
    return [round(value, 2) for value in os.getloadavg()]


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": load_average(),
        "note": "2 cores shared with other jobs and with the broker/bench process",
    }


def _pct(figures: dict[str, float] | None, unit: float = 1.0) -> str:
    if not figures:
        return "-"
    return "/".join(f"{figures[k] / unit:.0f}" for k in ("p50", "p95", "p99"))


def table(raw_scorer: dict[str, float], rows: list[dict[str, Any]]) -> str:
    """One line per contender (median and range of its runs), then its paced runs."""
    header = (
        f"{'implementation':<36} {'tweets/s':>8} {'min-max':>13} {'vs raw':>6} {'cores':>5} "
        f"{'slowest s':>9} {'stalls':>6} {'RSS MB':>6}"
    )
    lines = [header, "-" * len(header)]
    lines.append(
        f"{'raw scorer (no Kafka)':<36} {raw_scorer['median']:>8.0f} "
        f"{raw_scorer['min']:>6.0f}-{raw_scorer['max']:<6.0f} {1:>6.2f}"
    )
    for row in rows:
        spread = row["tweets_per_s_spread"]
        lines.append(
            f"{row['name']:<36} {row['tweets_per_s']:>8.0f} "
            f"{spread['min']:>6.0f}-{spread['max']:<6.0f} "
            f"{row['tweets_per_s'] / raw_scorer['median']:>6.2f} "
            f"{row['cpu_cores_busy_during_backlog']:>5} {row['backlog_min_per_s'] or '-':>9} "
            f"{row['backlog_stall_runs']:>3}/{row['runs']:<2} {row['peak_rss_mb']:>6.0f}"
        )
    for row in rows:
        for number, run in enumerate(row["per_run"], start=1):
            if "paced_latency_ms" in run:
                lines.append(
                    f"  {row['name']} run {number}: paced at {run['paced_offered_per_s']:.0f}/s,"
                    f" p50/p95/p99 {_pct(run['paced_latency_ms'])} ms,"
                    f" {run['paced']['scored']}/{run['paced']['sent']} scored"
                )
    return "\n".join(lines)
