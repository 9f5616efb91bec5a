"""Watermarks: how far event time has surely come, per input partition, as in Flink.

The scoring side knows, per raw partition it reads, the newest event time it has scored,
and whether it has read that partition to its end (caught up). Every batch of signals tells
every signals partition these marks; the detect side keeps the newest mark of each input
partition and evaluates windows only up to the slowest partition's watermark, minus the
allowed lateness. So a replay at full speed, or a catch-up after an outage where one batch
spans hours of one partition's traffic, evaluates the same windows as live traffic.

Idleness (Flink's `withIdleness`): a partition caught up for longer than a grace period has
its watermark move on with the clock from its newest event, and a caught-up partition that
never had an event does not hold the others back.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FEEDBACK_SOURCE = "feedback"


def raw_source(partition: int) -> str:
    return f"raw/{partition}"


@dataclass(frozen=True)
class Mark:
    """What the scoring side says of one input partition: its newest event time (None when
    it has scored none) and whether it has been read to its end."""

    newest_t: float | None
    idle: bool


class ScoredEventTimes:
    """Scoring side: the newest event time scored per input partition."""

    def __init__(self) -> None:
        self._newest: dict[str, float] = {}

    def observe(self, source: str, t: float) -> None:
        if t > self._newest.get(source, float("-inf")):
            self._newest[source] = t

    def marks(self, sources: Iterable[str], idle: Collection[str]) -> dict[str, Mark]:
        """Marks of the partitions this worker reads now (`sources`), and of any it scored."""
        return {
            source: Mark(self._newest.get(source), source in idle)
            for source in {*sources, *self._newest}
        }


@dataclass
class SourceClock:
    newest_t: float | None
    since: float  # the sender's clock when `newest_t` last rose or the partition was busy
    idle: bool

    def watermark(self, at: float, grace_s: float) -> float | None:
        """Idle for longer than `grace_s`, the partition's watermark moves on with the clock
        from its newest event: an upstream that delivers in bursts up to the grace apart
        loses nothing, and a burst followed by silence is still decided."""
        if self.newest_t is None:
            return None
        if self.idle:
            return self.newest_t + max(0.0, at - self.since - grace_s)
        return self.newest_t


@dataclass
class InputClock:
    """Detect side, per signals partition: each input partition's newest mark, persisted
    with the alert state so a restart or a rebalance resumes it."""

    sources: dict[str, SourceClock]
    raw_partitions: int
    at: float  # the newest sender clock seen

    @classmethod
    def empty(cls) -> InputClock:
        return cls({}, 0, float("-inf"))

    def update(self, marks: Mapping[str, Mark], raw_partitions: int, at: float) -> None:
        self.raw_partitions = max(self.raw_partitions, raw_partitions)
        self.at = max(self.at, at)
        for source, mark in marks.items():
            clock = self.sources.get(source)
            if clock is None:
                self.sources[source] = SourceClock(mark.newest_t, at, mark.idle)
                continue
            if mark.newest_t is not None and (
                clock.newest_t is None or mark.newest_t > clock.newest_t
            ):
                clock.newest_t, clock.since = mark.newest_t, at
            elif not mark.idle:
                clock.since = at  # still reading it: not idle since then
            clock.idle = mark.idle

    def watermark(self, grace_s: float) -> float | None:
        """The slowest raw partition's watermark; a partition never heard of holds it back,
        an idle one that never had an event does not. With no tweet in any raw partition yet,
        feedback's own clock."""
        raw = [self.sources.get(raw_source(p)) for p in range(self.raw_partitions)]
        if all(clock is None or clock.newest_t is None for clock in raw):
            feedback = self.sources.get(FEEDBACK_SOURCE)
            return feedback.watermark(self.at, grace_s) if feedback is not None else None
        if any(clock is None for clock in raw):
            return None
        bounds = [c.watermark(self.at, grace_s) for c in raw if c and not _idle_empty(c)]
        return None if None in bounds else min(b for b in bounds if b is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sources": {s: [c.newest_t, c.since, c.idle] for s, c in self.sources.items()},
            "raw_partitions": self.raw_partitions,
            "at": self.at if self.at != float("-inf") else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputClock:
        at = data.get("at")
        return cls(
            {s: SourceClock(*fields) for s, fields in data.get("sources", {}).items()},
            int(data.get("raw_partitions", 0)),
            float("-inf") if at is None else float(at),
        )


def _idle_empty(clock: SourceClock) -> bool:
    return clock.idle and clock.newest_t is None
