"""Machine facts, the printed table, and the Markdown table of docs/benchmark.md.

`python -m bench.report --markdown [bench/results.json]` prints the Markdown table that
docs/benchmark.md holds between its `bench-table` markers (a unit test keeps the two equal).
"""

from __future__ import annotations

import argparse
import json
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


RANGE = "\N{EN DASH}"
MARKDOWN_HEADER = (
    f"| implementation | tweets/s, median (min{RANGE}max) | vs raw | CPU cores "
    "| slowest second of the backlog (runs with a stall) "
    "| paced p50/p95/p99 ms, each run (offered/s) | peak RSS |\n"
    "| --- | ---: | ---: | ---: | --- | --- | ---: |"
)


def _rate(median: float, low: float, high: float) -> str:
    return f"{median:,.0f} ({low:,.0f}{RANGE}{high:,.0f})"


def _paced_runs(row: dict[str, Any]) -> str:
    runs = [
        f"{_pct(run['paced_latency_ms'])} ({run['paced_offered_per_s']:,.0f})"
        for run in row["per_run"]
        if run.get("paced_latency_ms")
    ]
    return "; ".join(runs) or "-"


def markdown_table(results: dict[str, Any]) -> str:
    """The contenders of a bench/results.json as a Markdown table, the default worker (the
    first `worker` row) in bold."""
    raw = results["raw_scorer_tweets_per_s"]
    raw_spread = results["raw_scorer_tweets_per_s_spread"]
    lines = [
        MARKDOWN_HEADER,
        f"| raw scorer (no Kafka, batch 64, 1 thread) "
        f"| {_rate(raw, raw_spread['min'], raw_spread['max'])} | 1.00 | 1 | - | - | - |",
    ]
    default = next((row for row in results["contenders"] if row["role"] == "worker"), None)
    for row in results["contenders"]:
        spread = row["tweets_per_s_spread"]
        slowest = row["backlog_min_per_s"]
        cells = [
            row["name"],
            _rate(row["tweets_per_s"], spread["min"], spread["max"]),
            f"{row['tweets_per_s'] / raw:.2f}",
        ]
        if row is default:
            cells = [f"**{cell}**" for cell in cells]
        cells += [
            f"{row['cpu_cores_busy_during_backlog']:.2f}",
            "-"
            if slowest is None
            else f"{slowest:,}/s ({row['backlog_stall_runs']} of {row['runs']})",
            _paced_runs(row),
            f"{row['peak_rss_mb']:.0f} MB",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("results", nargs="?", type=Path, default=Path("bench/results.json"))
    parser.add_argument("--markdown", action="store_true", required=True)
    args = parser.parse_args(argv)
    print(markdown_table(json.loads(args.results.read_text())))


if __name__ == "__main__":
    main()
