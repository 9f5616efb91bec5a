"""Event-time hopping windows over per-scope counts, as plain data that a table can store.

A window of `size_s` seconds moves in steps of `step_s`: counts live in step-sized buckets
and a window is the sum of the buckets it covers, so a burst is caught whatever its
alignment to the clock. Time is the events' own time, never the wall clock, so replaying
yesterday's tweets gives the same windows as living them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class WindowSpec:
    size_s: int = 300
    step_s: int = 30
    lateness_s: int = 120
    baseline_s: int = 3600
    examples: int = 3

    def bucket_of(self, t: float) -> int:
        return int(t // self.step_s) * self.step_s


@dataclass(frozen=True)
class Observation:
    """One counted thing: a scored tweet, or a feedback report."""

    t: float
    negative: bool
    tweet_id: str
    text: str = ""


@dataclass(frozen=True)
class WindowCounts:
    start: int
    end: int
    negatives: int
    total: int
    examples: tuple[tuple[str, str], ...]

    @property
    def share(self) -> float:
        return self.negatives / self.total if self.total else 0.0


@dataclass
class ScopeWindow:
    """Buckets of [negatives, total] and a few negative examples, keyed by bucket start."""

    buckets: dict[int, list[int]] = field(default_factory=dict)
    examples: dict[int, list[list[str]]] = field(default_factory=dict)
    watermark: float = float("-inf")
    dropped_late: int = 0

    def add(self, spec: WindowSpec, observation: Observation) -> bool:
        """Count one observation; False when it is later than the allowed lateness."""
        if observation.t < self.watermark - spec.lateness_s:
            self.dropped_late += 1
            return False
        self.watermark = max(self.watermark, observation.t)
        bucket = spec.bucket_of(observation.t)
        counts = self.buckets.setdefault(bucket, [0, 0])
        counts[1] += 1
        if observation.negative:
            counts[0] += 1
            samples = self.examples.setdefault(bucket, [])
            if len(samples) < spec.examples:
                samples.append([observation.tweet_id, observation.text])
        self._prune(spec)
        return True

    def current(self, spec: WindowSpec) -> WindowCounts:
        """The window that ends with the bucket holding the newest event."""
        end = spec.bucket_of(self.watermark) + spec.step_s
        return self.counts(spec, end - spec.size_s, end)

    def baseline(self, spec: WindowSpec) -> WindowCounts:
        """The trailing period just before the current window, to compare it with."""
        start = spec.bucket_of(self.watermark) + spec.step_s - spec.size_s
        return self.counts(spec, start - spec.baseline_s, start)

    def counts(self, spec: WindowSpec, start: int, end: int) -> WindowCounts:
        covered = [b for b in self.buckets if start <= b < end]
        newest_first = sorted(covered, reverse=True)  # the newest show what the buzz is about
        examples = [
            (tweet_id, text) for b in newest_first for tweet_id, text in self.examples.get(b, [])
        ][: spec.examples]
        return WindowCounts(
            start=start,
            end=end,
            negatives=sum(self.buckets[b][0] for b in covered),
            total=sum(self.buckets[b][1] for b in covered),
            examples=tuple(examples),
        )

    def _prune(self, spec: WindowSpec) -> None:
        horizon = spec.bucket_of(self.watermark) - spec.size_s - spec.baseline_s
        for bucket in [b for b in self.buckets if b < horizon]:
            del self.buckets[bucket]
            self.examples.pop(bucket, None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "buckets": {str(b): c for b, c in self.buckets.items()},
            "examples": {str(b): e for b, e in self.examples.items()},
            "watermark": self.watermark if self.watermark != float("-inf") else None,
            "dropped_late": self.dropped_late,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScopeWindow:
        watermark = data.get("watermark")
        return cls(
            buckets={int(b): list(c) for b, c in data.get("buckets", {}).items()},
            examples={int(b): [list(e) for e in es] for b, es in data.get("examples", {}).items()},
            watermark=float("-inf") if watermark is None else float(watermark),
            dropped_late=int(data.get("dropped_late", 0)),
        )
