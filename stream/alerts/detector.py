"""Raise once, stay quiet while the condition holds, resolve, cool down: per (kind, scope).

Everything here is pure: observations in, alert messages out. Decisions use event time,
so a replay raises the same alerts; the clock passed in (`now`) only stamps `raised_at` and
bounds how far ahead of it an event time is believed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from schemas import Alert, AlertExample, AlertKind, AlertStatus
from stream.alerts.rules import AdaptiveNegativeRule, NegativeFeedbackRule, Rule
from stream.alerts.windows import (
    Admission,
    Observation,
    ScopeWindow,
    WindowCounts,
    WindowSpec,
    clamp_to_arrival,
)
from stream.settings import Settings


def observed_history(window: ScopeWindow, spec: WindowSpec) -> WindowCounts:
    """The trailing baseline, starting at the scope's oldest bucket in it: a scope first seen
    ten minutes ago has ten minutes of history, not an hour of silence."""
    baseline = window.baseline(spec)
    oldest = min(
        (b for b in window.buckets if baseline.start <= b < baseline.end), default=baseline.end
    )
    return replace(baseline, start=oldest)


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
class LateDrop:
    tweet_id: str
    behind_s: float  # how far behind the watermark it was; more than the lateness allowance


@dataclass
class Observed:
    """What one call to `Detector.observe` did, for the caller's metrics and logs."""

    alerts: list[Alert] = field(default_factory=list)
    late: list[LateDrop] = field(default_factory=list)
    duplicates: int = 0
    clamped: int = 0
    repaired: bool = False


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
        now: datetime,
    ) -> Observed:
        """Count the observations, then raise or resolve at most once for this scope.

        Event times more than `spec.max_ahead_s` ahead of `now` are clamped to `now`, and a
        state whose watermark is that far ahead (written before the clamp existed) is
        repaired first: either would otherwise make every real event look late."""
        now_t = now.timestamp()
        observed = Observed(repaired=self._repair(state, now_t))
        window_state = state.window
        trusted = []
        for observation in observations:
            t = clamp_to_arrival(observation.t, now_t, self.spec.max_ahead_s)
            if t != observation.t:
                observed.clamped += 1
                observation = replace(observation, t=t)
            trusted.append(observation)
        # in event-time order: a batch holds several partitions' tweets, each partition in
        # its own order, and one partition's newest must not make another's older ones late
        for observation in sorted(trusted, key=lambda o: o.t):
            admission = window_state.add(self.spec, observation)
            if admission is Admission.DUPLICATE:
                observed.duplicates += 1
            elif admission is Admission.LATE:
                behind_s = window_state.watermark - observation.t
                observed.late.append(LateDrop(observation.tweet_id, behind_s))
        observed.alerts = self._decide(state, scope, now)
        return observed

    def _repair(self, state: ScopeState, now_t: float) -> bool:
        limit_t = now_t + self.spec.max_ahead_s
        repaired = state.window.drop_future(self.spec, limit_t)
        resolved = state.alert.resolved_at_t
        if resolved is not None and resolved > limit_t:
            state.alert.resolved_at_t = now_t  # the cooldown then runs from now
            repaired = True
        return repaired

    def _decide(self, state: ScopeState, scope: str, now: datetime) -> list[Alert]:
        if state.window.watermark == float("-inf"):
            return []
        window = state.window.current(self.spec)
        crossed = self.rule.crossed(window, observed_history(state.window, self.spec))
        event_now_t = state.window.watermark
        if crossed and not state.alert.active and not self._cooling_down(state, event_now_t):
            state.alert = AlertState(active=True, alert_id=self._alert_id(scope, window))
            return [self._alert(state, scope, window, crossed, AlertStatus.RAISED, now)]
        if not crossed and state.alert.active:
            alert = self._alert(state, scope, window, "cleared", AlertStatus.RESOLVED, now)
            state.alert = AlertState(active=False, alert_id=None, resolved_at_t=event_now_t)
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


def detectors_from(settings: Settings) -> dict[AlertKind, Detector]:
    spec = WindowSpec(
        size_s=settings.alert_window_s,
        step_s=settings.alert_step_s,
        lateness_s=settings.alert_lateness_s,
        baseline_s=settings.alert_baseline_s,
        examples=settings.alert_examples,
        max_ahead_s=settings.event_time_max_ahead_s,
        max_ids=settings.alert_dedupe_max_ids,
    )
    sentiment_rule = AdaptiveNegativeRule(
        min_negatives=settings.alert_min_negatives,
        min_ratio=settings.alert_min_ratio,
        max_p_value=settings.alert_max_p_value,
        cold_start_negatives=settings.alert_cold_start_negatives,
        prior_s=settings.alert_prior_s,
    )
    feedback_rule = NegativeFeedbackRule(settings.alert_feedback_min_reports)
    return {
        AlertKind.NEGATIVE_SENTIMENT: Detector(
            AlertKind.NEGATIVE_SENTIMENT, sentiment_rule, spec, settings.alert_cooldown_s
        ),
        AlertKind.NEGATIVE_FEEDBACK: Detector(
            AlertKind.NEGATIVE_FEEDBACK, feedback_rule, spec, settings.alert_cooldown_s
        ),
    }
