"""One contender end to end: preload its raw topic, run it through the backlog, then
(optionally) offer a paced load at a fraction of its measured maximum."""

from __future__ import annotations

import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from bench import stats
from bench.data import Message, PacedProducer, payloads, preload
from bench.kafka_io import OutputReader, read_timestamps
from bench.procs import Child, Group, Topics
from stream.kafka import KafkaConnection
from stream.kafka.topics import ensure_topics

BACKLOG, PACED = "b", "p"


@dataclass(frozen=True)
class Load:
    kafka: KafkaConnection
    partitions: int
    backlog: list[Message]
    texts: list[str]
    paced_s: float
    paced_fraction: float


def wait_for(
    child: Child | Group, reader: OutputReader, target: int, stall_s: float = 90.0
) -> float:
    """Block until the output holds `target` distinct tweets; returns the child's CPU seconds
    when its first output appeared, so CPU use over the drain can be computed."""
    seen, last_change, first_cpu = -1, time.monotonic(), float("nan")
    while True:
        count = reader.catch_up()
        if count > 0 and first_cpu != first_cpu:
            first_cpu = child.cpu_seconds()
        if count >= target:
            return first_cpu
        if count != seen:
            seen, last_change = count, time.monotonic()
        if not child.alive:
            raise RuntimeError(f"{child.name} died:\n{child.log_tail()}")
        if time.monotonic() - last_change > stall_s:
            raise RuntimeError(f"{child.name} stalled at {count}/{target}:\n{child.log_tail()}")
        time.sleep(0.25)


def run(child: Child | Group, topics: Topics, load: Load, paced: bool) -> dict[str, Any]:
    """One run of one contender on fresh topics."""
    ensure_topics(load.kafka, [topics.raw, topics.out], load.partitions)
    preload(load.kafka, topics.raw, load.backlog)
    backlog = len(load.backlog)
    result: dict[str, Any] = {}
    reader = OutputReader(load.kafka, topics.out)
    child.start()
    try:
        first_cpu = wait_for(child, reader, backlog)
        drain_cpu = child.cpu_seconds() - first_cpu
        max_rate = stats.throughput(reader.stamps, BACKLOG)
        if isinstance(child, Child) and "BADBUZZ_WEB_PORT" in child.env:
            result["alerts_caught_up_s"] = alerts_caught_up_s(child)
        if paced and load.paced_s > 0:
            result |= _paced_phase(child, reader, topics, load, load.paced_fraction * max_rate)
        result["peak_rss_mb"] = round(child.peak_rss_mb(), 1)
    finally:
        child.stop()
        reader.close()
    raw_ms = read_timestamps(load.kafka, topics.raw)
    out_ms = reader.stamps
    result |= {
        "tweets_per_s": round(max_rate, 1),
        "backlog": stats.completeness(raw_ms, out_ms, BACKLOG),
        "backlog_latency_ms": stats.latency_ms(raw_ms, out_ms, BACKLOG),
        "backlog_pace": stats.backlog_pace(out_ms, BACKLOG),
        "cpu_cores_busy_during_backlog": round(drain_cpu * max_rate / backlog, 2),
    }
    if "paced_offered_per_s" in result:
        result |= {
            "paced_output_per_s": round(stats.throughput(out_ms, PACED), 1),
            "paced": stats.completeness(raw_ms, out_ms, PACED),
            "paced_latency_ms": stats.latency_ms(raw_ms, out_ms, PACED),
        }
    return result


def alerts_caught_up_s(child: Child, timeout_s: float = 120.0) -> float | None:
    """Seconds from the scored backlog's end until the worker's alerts agent has no signals
    left to read (its lag gauge, refreshed every few seconds, reads 0); None past the
    timeout."""
    signals = f"{child.env['BADBUZZ_APP_ID']}-signals"
    url = f"http://127.0.0.1:{child.env['BADBUZZ_WEB_PORT']}/metrics"
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            text = urllib.request.urlopen(url, timeout=5).read().decode()
        except OSError:
            text = ""
        lags = [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("badbuzz_consumer_lag{") and f'topic="{signals}"' in line
        ]
        if lags and sum(lags) == 0:
            return round(time.monotonic() - started, 1)
        time.sleep(0.5)
    return None


def _paced_phase(
    child: Child | Group, reader: OutputReader, topics: Topics, load: Load, rate: float
) -> dict[str, Any]:
    """The contender is idle and caught up; offer `rate` tweets/s for `paced_s` seconds."""
    count = max(1, int(rate * load.paced_s))
    texts = [load.texts[i % len(load.texts)] for i in range(count)]
    producer = PacedProducer(load.kafka, topics.raw, payloads(texts, PACED), rate)
    before = reader.catch_up()
    producer.start()
    producer.join()
    wait_for(child, reader, before + producer.sent)
    return {"paced_offered_per_s": round(producer.sent / producer.elapsed_s, 1)}
