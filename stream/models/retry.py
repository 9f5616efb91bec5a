"""When to fetch again a bundle that could not be fetched for a passing reason (its chunks not
read in time, a broker away): after a doubling wait, for as long as the control topic names
its version. A bundle refused for good (wrong checksum, fails to load) is not in here."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from stream.pipeline.faults import doubling_wait

Bundle = tuple[str, str]  # (version, sha256)


class FetchRetries:
    def __init__(
        self, first_s: float, max_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._first_s = first_s
        self._max_s = max_s
        self._clock = clock
        self._next: dict[Bundle, tuple[int, float]] = {}  # failures so far, next try at

    def failed(self, bundle: Bundle) -> float:
        """Records a failed fetch; returns the wait before the next try."""
        failures = self._next.get(bundle, (0, 0.0))[0] + 1
        wait = doubling_wait(self._first_s, self._max_s, failures)
        self._next[bundle] = (failures, self._clock() + wait)
        return wait

    def waiting(self, bundle: Bundle) -> bool:
        """Its next try is not due yet."""
        entry = self._next.get(bundle)
        return entry is not None and self._clock() < entry[1]

    def forget(self, bundle: Bundle) -> None:
        """Fetched, or refused for good: no more tries."""
        self._next.pop(bundle, None)

    def due(self, named: Iterable[Bundle]) -> bool:
        """A try is due for one of the `named` bundles; the others (a version no longer
        named, or published again with other bytes) are forgotten."""
        named = set(named)
        self._next = {b: entry for b, entry in self._next.items() if b in named}
        now = self._clock()
        return any(at <= now for _, at in self._next.values())
