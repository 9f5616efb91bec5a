"""What the status page shows, kept in small bounded structures the agents update."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

from schemas import Alert, AlertStatus, DeadLetter
from stream.models.shadow import Shadow
from stream.models.slot import ServingModels
from stream.observability.metrics import ConsumerLag
from stream.web.api import DeadLetterSummary, LagEntry, ModelStatus, ShadowStatus


class StatusBoard:
    """Recent throughput, open alerts and the last dead letters of this worker. The scoring
    consumer's threads write here while the web handlers read on Faust's event loop: every
    method holds the board's lock, and readers get copies."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        throughput_window_s: float = 30.0,
        max_dead_letters: int = 20,
        max_open_alerts: int = 50,
    ) -> None:
        self._clock = clock
        self._started = clock()
        self.throughput_window_s = throughput_window_s
        self._batches: deque[tuple[float, int]] = deque()
        self._dead_letters: deque[DeadLetter] = deque(maxlen=max_dead_letters)
        self._open_alerts: OrderedDict[tuple[str, str], Alert] = OrderedDict()
        self._max_open_alerts = max_open_alerts
        self._lock = threading.Lock()

    def record_batch(self, consumed: int) -> None:
        with self._lock:
            now = self._clock()
            self._batches.append((now, consumed))
            self._forget_before(now - self.throughput_window_s)

    def record_dead_letters(self, letters: Iterable[DeadLetter]) -> None:
        with self._lock:
            self._dead_letters.extend(letters)

    def record_alerts(self, alerts: Iterable[Alert]) -> None:
        """A raised alert stays open until its kind and scope are resolved."""
        with self._lock:
            self._record_alerts(alerts)

    def _record_alerts(self, alerts: Iterable[Alert]) -> None:
        for alert in alerts:
            key = (alert.kind.value, alert.scope)
            if alert.status is AlertStatus.RESOLVED:
                self._open_alerts.pop(key, None)
                continue
            self._open_alerts[key] = alert
            self._open_alerts.move_to_end(key)
            while len(self._open_alerts) > self._max_open_alerts:
                self._open_alerts.popitem(last=False)

    def tweets_per_s(self) -> float:
        """Over the window, or over the time since start when that is shorter."""
        with self._lock:
            now = self._clock()
            self._forget_before(now - self.throughput_window_s)
            consumed = sum(count for _, count in self._batches)
        span = min(self.throughput_window_s, now - self._started)
        return consumed / span if span > 0 else 0.0

    def open_alerts(self) -> list[Alert]:
        with self._lock:
            return list(reversed(self._open_alerts.values()))

    def dead_letters(self) -> list[DeadLetterSummary]:
        with self._lock:
            letters = list(reversed(self._dead_letters))
        return [
            DeadLetterSummary(
                reason=letter.reason,
                source_topic=letter.source_topic,
                partition=letter.partition,
                offset=letter.offset,
                detail=letter.detail,
                rejected_at=letter.rejected_at,
            )
            for letter in letters
        ]

    def _forget_before(self, cutoff: float) -> None:
        while self._batches and self._batches[0][0] < cutoff:
            self._batches.popleft()


def lag_from(lag: ConsumerLag) -> list[LagEntry]:
    """The lag Prometheus would scrape now, from the same source."""
    return [
        LagEntry(topic=topic, partition=partition, lag=value)
        for (topic, partition), value in sorted(lag.current().items())
    ]


def model_status(models: ServingModels) -> ModelStatus:
    """Version, threshold, the class prior the model's probabilities are calibrated under,
    and the challenger in shadow with its figures so far."""
    scorer = models.current().model
    return ModelStatus(
        version=scorer.version,
        threshold=scorer.threshold,
        prior={c: float(p) for c, p in zip(scorer.classes, scorer.train_prior, strict=True)},
        shadow=shadow_status(models.shadow),
    )


def shadow_status(shadow: Shadow | None) -> ShadowStatus | None:
    if shadow is None or (tally := shadow.tally()) is None:
        return None
    return ShadowStatus(
        version=shadow.version,
        champion=tally.champion,
        scored=tally.scored,
        agreement=None if tally.agreement is None else round(tally.agreement, 4),
        labels=tally.labels,
        feedback=tally.feedback,
        champion_right=tally.champion_right,
        challenger_right=tally.challenger_right,
    )
