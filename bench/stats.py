"""Figures from Kafka timestamps: throughput over output CreateTimes, latency per event as
output CreateTime minus the raw tweet's CreateTime (joined on the tweet id key)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import numpy as np


def throughput(out_ms: dict[str, int], prefix: str) -> float:
    """Events per second between the first and last output event of one phase."""
    stamps = [ts for key, ts in out_ms.items() if key.startswith(prefix)]
    if len(stamps) < 2:
        return float("nan")
    span_s = (max(stamps) - min(stamps)) / 1000
    return len(stamps) / span_s if span_s > 0 else float("nan")


def latency_ms(raw_ms: dict[str, int], out_ms: dict[str, int], prefix: str) -> dict[str, float]:
    lags = np.array(
        [ts - raw_ms[key] for key, ts in out_ms.items() if key.startswith(prefix) and key in raw_ms]
    )
    if lags.size == 0:
        return {}
    p50, p95, p99 = np.percentile(lags, [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "max": float(lags.max())}


def completeness(raw_ms: dict[str, int], out_ms: dict[str, int], prefix: str) -> dict[str, int]:
    sent = {key for key in raw_ms if key.startswith(prefix)}
    return {"sent": len(sent), "scored": len(sent & out_ms.keys())}


def per_second_counts(stamps_ms: Sequence[int]) -> list[int]:
    """Events in each whole second from the first event, empty seconds included."""
    if not stamps_ms:
        return []
    first = min(stamps_ms)
    counts = [0] * ((max(stamps_ms) - first) // 1000 + 1)
    for stamp in stamps_ms:
        counts[(stamp - first) // 1000] += 1
    return counts


def backlog_pace(out_ms: dict[str, int], prefix: str) -> dict[str, float | list[int] | bool]:
    """Per-second output rate over a drain, without its first and last (partial) seconds.
    A stall is a second below half the median: a worker stuck on small batches shows up here
    even when its average rate looks fine."""
    seconds = per_second_counts([ts for key, ts in out_ms.items() if key.startswith(prefix)])
    inner = seconds[1:-1]
    if not inner:
        return {}
    median = statistics.median(inner)
    stalled = [index + 1 for index, count in enumerate(inner) if count < median / 2]
    return {
        "median_per_s": float(median),
        "min_per_s": min(inner),
        "stalled_seconds": stalled,
        "stall": bool(stalled),
    }


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median and range of one figure over repeated runs."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}
