"""When a window becomes a bad buzz, and when it stops being one: rules and alert state.

Everything here is pure: observations in, alert messages out. Decisions use event time,
so a replay raises the same alerts; only `raised_at` records the wall clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from schemas import Alert, AlertExample, AlertKind, AlertStatus
from stream.windows import Observation, ScopeWindow, WindowCounts, WindowSpec


class Rule(Protocol):
    def crossed(self, window: WindowCounts, baseline: WindowCounts) -> str | None:
        """A description of the threshold crossed, or None."""


@dataclass(frozen=True)
class NegativeSentimentRule:
    """Enough negatives, a high enough share, and (when the scope has history) clearly more
    negative than its own trailing baseline, since some scopes are always mostly negative."""

    min_negatives: int = 20
    min_share: float = 0.6
    baseline_margin: float = 0.2
    baseline_min_total: int = 100

    def crossed(self, window: WindowCounts, baseline: WindowCounts) -> str | None:
        if window.negatives < self.min_negatives or window.share < self.min_share:
            return None
        description = f"negatives>={self.min_negatives} and share>={self.min_share:.2f}"
        if baseline.total >= self.baseline_min_total:
            floor = baseline.share + self.baseline_margin
            if window.share < floor:
                return None
            description += f" and share>=baseline {baseline.share:.2f}+{self.baseline_margin:.2f}"
        return description


@dataclass(frozen=True)
class NegativeFeedbackRule:
    min_reports: int = 3

    def crossed(self, window: WindowCounts, baseline: WindowCounts) -> str | None:
        if window.negatives >= self.min_reports:
            return f"wrong-prediction reports>={self.min_reports}"
        return None


@dataclass
class AlertState:
    active: bool = False
    alert_id: str | None = None
    resolved_at_t: float | None = None


@dataclass
class ScopeState:
    """What a table keeps per (kind, scope): the window and whether an alert is open."""

    window: ScopeWindow = field(default_factory=ScopeWindow)
    alert: AlertState = field(default_factory=AlertState)

    def to_dict(self) -> dict[str, Any]:
        return {"window": self.window.to_dict(), "alert": asdict(self.alert)}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ScopeState:
        if not data:
            return cls()
        return cls(ScopeWindow.from_dict(data["window"]), AlertState(**data["alert"]))


@dataclass(frozen=True)
class Detector:
    kind: AlertKind
    rule: Rule
    spec: WindowSpec = field(default_factory=WindowSpec)
    cooldown_s: int = 600

    def observe(
        self,
        state: ScopeState,
        scope: str,
        observations: Iterable[Observation],
        raised_at: datetime,
    ) -> list[Alert]:
        """Count the observations, then raise or resolve at most once for this scope."""
        for observation in observations:
            state.window.add(self.spec, observation)
        if state.window.watermark == float("-inf"):
            return []
        window = state.window.current(self.spec)
        crossed = self.rule.crossed(window, state.window.baseline(self.spec))
        now_t = state.window.watermark
        if crossed and not state.alert.active and not self._cooling_down(state, now_t):
            state.alert = AlertState(active=True, alert_id=self._alert_id(scope, window))
            return [self._alert(state, scope, window, crossed, AlertStatus.RAISED, raised_at)]
        if not crossed and state.alert.active:
            alert = self._alert(state, scope, window, "cleared", AlertStatus.RESOLVED, raised_at)
            state.alert = AlertState(active=False, alert_id=None, resolved_at_t=now_t)
            return [alert]
        return []

    def _cooling_down(self, state: ScopeState, now_t: float) -> bool:
        resolved = state.alert.resolved_at_t
        return resolved is not None and now_t - resolved < self.cooldown_s

    def _alert_id(self, scope: str, window: WindowCounts) -> str:
        """The same burst gives the same id, so consumers can drop a redelivered alert."""
        digest = hashlib.sha256(f"{self.kind}|{scope}|{window.start}".encode()).hexdigest()
        return digest[:20]

    def _alert(
        self,
        state: ScopeState,
        scope: str,
        window: WindowCounts,
        threshold: str,
        status: AlertStatus,
        raised_at: datetime,
    ) -> Alert:
        return Alert(
            alert_id=state.alert.alert_id or self._alert_id(scope, window),
            kind=self.kind,
            status=status,
            scope=scope,
            window_start=datetime.fromtimestamp(window.start, tz=UTC),
            window_end=datetime.fromtimestamp(window.end, tz=UTC),
            count=window.negatives,
            total=window.total,
            share=round(window.share, 4),
            threshold=threshold,
            examples=[AlertExample(tweet_id=i, text=t) for i, t in window.examples],
            raised_at=raised_at,
        )
