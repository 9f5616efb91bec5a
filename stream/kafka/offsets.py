"""Which input offsets may be committed: per partition, the contiguous run of batches whose
outputs the broker has acknowledged. A batch delivered ahead of an earlier one waits, so a
commit never passes a tweet whose outputs could still be lost."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

Partition = tuple[str, int]


@dataclass
class _Range:
    first: int
    last: int
    delivered: bool = False


@dataclass
class OffsetTracker:
    _in_flight: dict[Partition, deque[_Range]] = field(default_factory=dict)

    def started(self, partition: Partition, first: int, last: int) -> None:
        """A batch's offsets of one partition went out; batches of a partition start in order."""
        self._in_flight.setdefault(partition, deque()).append(_Range(first, last))

    def delivered(self, partition: Partition, first: int) -> int | None:
        """Marks the range starting at `first` delivered; returns the offset to commit (the next
        one to read) when the contiguous prefix grew, else None."""
        ranges = self._in_flight.get(partition)
        if not ranges:
            return None
        for pending in ranges:
            if pending.first == first:
                pending.delivered = True
                break
        commit = None
        while ranges and ranges[0].delivered:
            commit = ranges.popleft().last + 1
        return commit

    def pending(self, partitions: Iterable[Partition] | None = None) -> int:
        """Ranges not yet delivered, over the given partitions or all of them."""
        keys = self._in_flight if partitions is None else partitions
        return sum(len(self._in_flight.get(key, ())) for key in keys)

    def forget(self, partitions: Iterable[Partition]) -> None:
        for partition in partitions:
            self._in_flight.pop(partition, None)
