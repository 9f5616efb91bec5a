"""Event-time hopping windows over per-scope counts, as plain data that a table can store.

A window of `size_s` seconds moves in steps of `step_s`: counts live in step-sized buckets
and a window is the sum of the buckets it covers, so a burst is caught whatever its
alignment to the clock. Time is the events' own time, never the wall clock, so replaying
yesterday's tweets gives the same windows as living them. Event time is still untrusted
input: the alerts path clamps times too far ahead of its clock (`stream/alerting.py`), and
each tweet id is counted once, however often it is delivered.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

DIGEST_BYTES = 8  # 64 bits: odds of two of a scope's <= 50,000 ids colliding are below 1e-10


@dataclass(frozen=True)
class WindowSpec:
    size_s: int = 300
    step_s: int = 30
    lateness_s: int = 120
    baseline_s: int = 3600
    examples: int = 3
    max_ahead_s: int = 300
    max_ids: int = 50_000  # ~11 bytes each in the stored state, under Kafka's 1 MB message

    def bucket_of(self, t: float) -> int:
        return int(t // self.step_s) * self.step_s

    @property
    def dedupe_s(self) -> int:
        """How long an id is remembered: after a window and the lateness allowance, any copy
        of it with the same time would be dropped as late anyway."""
        return self.size_s + self.lateness_s


def clamp_to_arrival(claimed_t: float, arrival_t: float, max_ahead_s: float) -> float:
    """A claimed event time, unless it is more than `max_ahead_s` ahead of the clock: then
    the arrival time, so one mis-dated event cannot move a watermark into the future."""
    return arrival_t if claimed_t > arrival_t + max_ahead_s else claimed_t


@dataclass(frozen=True)
class Observation:
    """One counted thing: a scored tweet, or a feedback report."""

    t: float
    negative: bool
    tweet_id: str
    text: str = ""
    # feedback: a reporter's complaints count once while their ids are remembered (a window
    # and its lateness), so a window's negatives are distinct reporters: one cannot alert alone
    reporter: str | None = None

    @property
    def digest(self) -> bytes:
        """What makes two observations the same one, hashed short to keep the state small."""
        identity = (
            self.tweet_id if self.reporter is None else f"\x1f{self.reporter}\x1f{self.negative}"
        )
        return hashlib.blake2b(identity.encode(), digest_size=DIGEST_BYTES).digest()


class Admission(StrEnum):
    COUNTED = "counted"
    DUPLICATE = "duplicate"
    LATE = "late"


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
    """Buckets of [negatives, total], a few negative examples, and the digests of the ids
    counted, keyed by bucket start."""

    buckets: dict[int, list[int]] = field(default_factory=dict)
    examples: dict[int, list[list[str]]] = field(default_factory=dict)
    watermark: float = float("-inf")
    dropped_late: int = 0
    seen: dict[int, set[bytes]] = field(default_factory=dict)
    # each bucket's digests packed as they are stored, appended to as ids arrive: a busy
    # scope's state is written often, and re-packing its ids each time cost more than counting
    _packed: dict[int, bytearray] = field(default_factory=dict, compare=False, repr=False)

    def add(self, spec: WindowSpec, observation: Observation) -> Admission:
        """Count one observation, unless its id was counted already or it is later than the
        allowed lateness."""
        digest = observation.digest
        if any(digest in ids for ids in self.seen.values()):
            return Admission.DUPLICATE
        if observation.t < self.watermark - spec.lateness_s:
            self.dropped_late += 1
            return Admission.LATE
        self.watermark = max(self.watermark, observation.t)
        bucket = spec.bucket_of(observation.t)
        self._remember(spec, bucket, digest)
        counts = self.buckets.setdefault(bucket, [0, 0])
        counts[1] += 1
        if observation.negative:
            counts[0] += 1
            samples = self.examples.setdefault(bucket, [])
            if len(samples) < spec.examples:
                samples.append([observation.tweet_id, observation.text])
        self._prune(spec)
        return Admission.COUNTED

    def drop_future(self, spec: WindowSpec, limit_t: float) -> bool:
        """Forget buckets that start after `limit_t` and move the watermark back to the newest
        bucket left: heals a state whose watermark a mis-dated event once pushed ahead."""
        if self.watermark <= limit_t:
            return False
        for bucket in [b for b in self.buckets.keys() | self.seen.keys() if b > limit_t]:
            self.buckets.pop(bucket, None)
            self.examples.pop(bucket, None)
            self.seen.pop(bucket, None)
            self._packed.pop(bucket, None)
        self.watermark = float(max(self.buckets, default=float("-inf")))
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

    def _remember(self, spec: WindowSpec, bucket: int, digest: bytes) -> None:
        """Past `spec.max_ids`, the oldest buckets' ids go first (recent copies, such as a
        redelivery after a crash, are the likely ones); a bucket alone over it stops growing."""
        remembered = sum(len(ids) for ids in self.seen.values())
        for oldest in sorted(self.seen):
            if remembered < spec.max_ids or oldest >= bucket:
                break
            remembered -= len(self.seen.pop(oldest))
            self._packed.pop(oldest, None)
        if remembered < spec.max_ids:
            self.seen.setdefault(bucket, set()).add(digest)
            if bucket in self._packed:
                self._packed[bucket] += digest

    def _prune(self, spec: WindowSpec) -> None:
        newest = spec.bucket_of(self.watermark)
        horizon = newest - spec.size_s - spec.baseline_s
        for bucket in [b for b in self.buckets if b < horizon]:
            del self.buckets[bucket]
            self.examples.pop(bucket, None)
        for bucket in [b for b in self.seen if b < newest - spec.dedupe_s]:
            del self.seen[bucket]
            self._packed.pop(bucket, None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; a bucket's digests are one base64 string (about 11 bytes per id)."""
        return {
            "buckets": {str(b): c for b, c in self.buckets.items()},
            "examples": {str(b): e for b, e in self.examples.items()},
            "watermark": self.watermark if self.watermark != float("-inf") else None,
            "dropped_late": self.dropped_late,
            "seen": {str(b): base64.b64encode(self._packed_ids(b)).decode() for b in self.seen},
        }

    def _packed_ids(self, bucket: int) -> bytearray:
        packed = self._packed.get(bucket)
        if packed is None:
            packed = self._packed[bucket] = bytearray(b"".join(self.seen[bucket]))
        return packed

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScopeWindow:
        watermark = data.get("watermark")
        packed = {
            int(b): bytearray(base64.b64decode(ids)) for b, ids in data.get("seen", {}).items()
        }
        return cls(
            buckets={int(b): list(c) for b, c in data.get("buckets", {}).items()},
            examples={int(b): [list(e) for e in es] for b, es in data.get("examples", {}).items()},
            watermark=float("-inf") if watermark is None else float(watermark),
            dropped_late=int(data.get("dropped_late", 0)),
            seen={bucket: digests_of(ids) for bucket, ids in packed.items()},
            _packed=packed,
        )


def digests_of(packed: bytes | bytearray) -> set[bytes]:
    return {bytes(packed[i : i + DIGEST_BYTES]) for i in range(0, len(packed), DIGEST_BYTES)}
