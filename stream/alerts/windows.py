"""Event-time hopping windows over per-scope counts, as plain data that a table can store.

A window of `size_s` seconds moves in steps of `step_s`: counts live in step-sized buckets
and a window is the sum of the buckets it covers, so a burst is caught whatever its
alignment to the clock. Once every window that can hold a bucket has been evaluated, the
bucket is rolled into its hour: the baseline (a day by default) is kept as hourly sums, so a
scope's state stays small whatever its traffic. Counts are float sums of a complaint weight
(stream/alerts/measure.py) and a total. Each tweet id is counted once, however often it is
delivered, and ids, examples and example texts are capped.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from stream.alerts.terms import TermCounts, tokens

DIGEST_BYTES = 8  # 64 bits: odds of two of a scope's <= 50,000 ids colliding are below 1e-10
HOUR_S = 3600
BASELINE_TERMS = 200  # distinct terms of a scope's past complaints kept, the heaviest
TERM_DECAY = 0.999  # per bucket of examples leaving the window: a half-life of ~700 buckets


@dataclass(frozen=True)
class WindowSpec:
    """Built from Settings by `stream.alerts.detector.window_spec_from`, nowhere else."""

    size_s: int
    step_s: int
    lateness_s: int
    baseline_s: int  # a whole number of hours
    examples: int  # quoted in an alert
    example_chars: int  # an example's text is cut to this length
    max_examples: int  # examples a scope keeps in all, over its unevaluated buckets
    max_ahead_s: int
    max_ids: int

    def bucket_of(self, t: float) -> int:
        return int(t // self.step_s) * self.step_s

    @property
    def bucket_examples(self) -> int:
        """Examples kept per bucket: a window's share of `max_examples`, and at least what an
        alert quotes, so a burst in one bucket still gives its terms some texts."""
        return max(self.examples, self.max_examples * self.step_s // self.size_s)

    @property
    def dedupe_s(self) -> int:
        """How long behind the evaluated horizon an id is remembered: a copy delivered again
        (after a crash) is then told apart from a late tweet."""
        return self.size_s + self.lateness_s


def clamp_to_arrival(claimed_t: float, arrival_t: float, max_ahead_s: float) -> float:
    """A claimed event time, unless it is more than `max_ahead_s` ahead of the clock: then
    the arrival time, so one mis-dated event cannot move a watermark into the future."""
    return arrival_t if claimed_t > arrival_t + max_ahead_s else claimed_t


def hour_of(t: float) -> int:
    return int(t // HOUR_S) * HOUR_S


@dataclass(frozen=True)
class Observation:
    """One counted thing: a scored tweet, or a feedback report. `negative` is its complaint
    weight in [0, 1] (a bool is 0 or 1)."""

    t: float
    negative: float
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
    negatives: float
    total: int
    examples: tuple[tuple[str, str], ...] = ()

    @property
    def share(self) -> float:
        return min(1.0, self.negatives / self.total) if self.total else 0.0


@dataclass
class ScopeWindow:
    """Step buckets of [complaint weight, total] for what is not yet evaluated (and the
    current hour), hourly roll-ups for the rest of the baseline, a few negative examples per
    bucket, and the digests of the ids counted, keyed by bucket start."""

    buckets: dict[int, list[float]] = field(default_factory=dict)
    hours: dict[int, list[float]] = field(default_factory=dict)
    examples: dict[int, list[list[str]]] = field(default_factory=dict)
    since: int | None = None  # the first bucket ever counted: history starts no earlier
    # the terms of the scope's past complaints (examples that left the window), for what
    # is distinctive of a burst against the scope's usual complaints
    terms: TermCounts = field(default_factory=lambda: TermCounts(BASELINE_TERMS))
    dropped_late: int = 0
    seen: dict[int, set[bytes]] = field(default_factory=dict)
    # each bucket's digests packed as they are stored, appended to as ids arrive: a busy
    # scope's state is written often, and re-packing its ids each time cost more than counting
    _packed: dict[int, bytearray] = field(default_factory=dict, compare=False, repr=False)

    def add(self, spec: WindowSpec, observation: Observation, horizon: int | None) -> Admission:
        """Count one observation, unless its id was counted already or a window holding it
        was evaluated already (its bucket ends at or before `horizon`)."""
        digest = observation.digest
        if any(digest in ids for ids in self.seen.values()):
            return Admission.DUPLICATE
        bucket = spec.bucket_of(observation.t)
        if horizon is not None and bucket + spec.step_s <= horizon:
            self.dropped_late += 1
            return Admission.LATE
        self._remember(spec, bucket, digest)
        counts = self.buckets.setdefault(bucket, [0.0, 0])
        counts[1] += 1
        weight = float(observation.negative)
        if weight > 0:
            counts[0] += weight
            self._keep_example(spec, bucket, observation)
        self.since = bucket if self.since is None else min(self.since, bucket)
        return Admission.COUNTED

    def window(self, spec: WindowSpec, end: int) -> WindowCounts:
        """The window [end - size, end), with every example it keeps, newest first."""
        start = end - spec.size_s
        covered = sorted((b for b in self.buckets if start <= b < end), reverse=True)
        examples = [
            (tweet_id, text) for b in covered for tweet_id, text in self.examples.get(b, [])
        ]
        return WindowCounts(
            start=start,
            end=end,
            negatives=sum(self.buckets[b][0] for b in covered),
            total=int(sum(self.buckets[b][1] for b in covered)),
            examples=tuple(examples),
        )

    def history(self, spec: WindowSpec, end: int) -> WindowCounts:
        """The trailing baseline before the window ending at `end`: whole hours back to
        `baseline_s` before the window's start hour, then the buckets up to its start. It
        starts at the scope's first bucket when that is later: a scope first seen ten minutes
        ago has ten minutes of history, not a day of silence."""
        until = end - spec.size_s
        start = hour_of(until) - spec.baseline_s
        start = max(start, min(self.since, until)) if self.since is not None else until
        negatives, total = 0.0, 0.0
        for first, source in ((start, self.buckets), (hour_of(start), self.hours)):
            for b, (weight, count) in source.items():
                if first <= b < until:
                    negatives += weight
                    total += count
        return WindowCounts(start=start, end=until, negatives=negatives, total=int(total))

    def next_bucket(self, after: int) -> int | None:
        """The first bucket at or after `after`."""
        return min((b for b in self.buckets if b >= after), default=None)

    def pending(self, spec: WindowSpec, horizon: int | None) -> bool:
        """Whether a window not yet evaluated holds a bucket."""
        if horizon is None:
            return bool(self.buckets)
        return any(b + spec.size_s > horizon for b in self.buckets)

    def roll_up(self, spec: WindowSpec, horizon: int) -> None:
        """Once windows up to `horizon` are evaluated: buckets of hours no later window reads
        bucket by bucket go into their hour, what no later window or baseline reads goes."""
        edge = hour_of(horizon + spec.step_s - spec.size_s)
        for bucket in [b for b in self.buckets if b < edge]:
            weight, count = self.buckets.pop(bucket)
            hour = self.hours.setdefault(hour_of(bucket), [0.0, 0])
            hour[0] += weight
            hour[1] += count
        for hour in [h for h in self.hours if h < edge - spec.baseline_s]:
            del self.hours[hour]
        for bucket in sorted(b for b in self.examples if b < horizon + spec.step_s - spec.size_s):
            self.terms = self.terms.decayed(TERM_DECAY)
            for _, text in self.examples.pop(bucket):
                self.terms.add(tokens(text))
        for bucket in [b for b in self.seen if b < horizon - spec.dedupe_s]:
            del self.seen[bucket]
            self._packed.pop(bucket, None)

    def _keep_example(self, spec: WindowSpec, bucket: int, observation: Observation) -> None:
        samples = self.examples.setdefault(bucket, [])
        kept = sum(len(e) for e in self.examples.values())
        if len(samples) < spec.bucket_examples and kept < spec.max_examples:
            samples.append([observation.tweet_id, observation.text[: spec.example_chars]])
        if not samples:
            del self.examples[bucket]

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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; a bucket's digests are one base64 string (about 11 bytes per id)."""
        return {
            "buckets": {str(b): c for b, c in self.buckets.items()},
            "hours": {str(h): c for h, c in self.hours.items()},
            "examples": {str(b): e for b, e in self.examples.items()},
            "since": self.since,
            "terms": self.terms.to_dict(),
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
        packed = {
            int(b): bytearray(base64.b64decode(ids)) for b, ids in data.get("seen", {}).items()
        }
        return cls(
            buckets={int(b): list(c) for b, c in data.get("buckets", {}).items()},
            hours={int(h): list(c) for h, c in data.get("hours", {}).items()},
            examples={int(b): [list(e) for e in es] for b, es in data.get("examples", {}).items()},
            since=data.get("since"),
            terms=TermCounts.from_dict(data.get("terms", {"capacity": BASELINE_TERMS})),
            dropped_late=int(data.get("dropped_late", 0)),
            seen={bucket: digests_of(ids) for bucket, ids in packed.items()},
            _packed=packed,
        )


def digests_of(packed: bytes | bytearray) -> set[bytes]:
    return {bytes(packed[i : i + DIGEST_BYTES]) for i in range(0, len(packed), DIGEST_BYTES)}
