"""Figures from Kafka timestamps: throughput over output CreateTimes, latency per event as
output CreateTime minus the raw tweet's CreateTime (joined on the tweet id key)."""

from __future__ import annotations

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
