"""Machine facts and the printed table."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


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
        "load_average_at_start": os.getloadavg(),
        "note": "2 cores shared with other jobs and with the broker/bench process",
    }


def _pct(figures: dict[str, float] | None, unit: float = 1.0) -> str:
    if not figures:
        return "-"
    return "/".join(f"{figures[k] / unit:.0f}" for k in ("p50", "p95", "p99"))


def table(rows: list[dict[str, Any]], reference: float) -> str:
    header = (
        f"{'implementation':<30} {'tweets/s':>9} {'vs worker':>9} {'cores':>5} "
        f"{'backlog p50/p95/p99 s':>22} {'paced at/s':>10} {'paced p50/p95/p99 ms':>21} "
        f"{'RSS MB':>7}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        ratio = row["tweets_per_s"] / reference if reference else float("nan")
        lines.append(
            f"{row['name']:<30} {row['tweets_per_s']:>9.0f} {ratio:>9.2f} "
            f"{row.get('cpu_cores_busy_during_backlog') or '-':>5} "
            f"{_pct(row.get('backlog_latency_ms'), 1000):>22} "
            f"{row.get('paced_offered_per_s', '-'):>10} {_pct(row.get('paced_latency_ms')):>21} "
            f"{row.get('peak_rss_mb', '-'):>7}"
        )
    return "\n".join(lines)
