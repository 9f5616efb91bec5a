"""Raise once, stay quiet while the condition holds, resolve, cool down: per (kind, scope).

Everything here is pure. Observations are counted into a scope's buckets (`admit`); windows
are decided when the input watermark passes their end (`evaluate`): every step boundary the
watermark crosses, in event-time order, so the alerts do not depend on how the traffic was
batched. The clock passed in (`now`) only stamps `raised_at` and bounds how far ahead of it
an event time is believed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from schemas import Alert, AlertExample, AlertKind, AlertStatus, AlertTerm
from stream.alerts.rules import AdaptiveNegativeRule, NegativeFeedbackRule, Rule
from stream.alerts.terms import (
    Term,
    TermCounts,
    dedupe_key,
    distinctive_terms,
    representative_examples,
    tokens,
)
from stream.alerts.windows import (
    Admission,
    Observation,
    ScopeWindow,
    WindowCounts,
    WindowSpec,
    clamp_to_arrival,
)
from stream.settings import Settings


@dataclass
class AlertState:
    active: bool = False
    alert_id: str | None = None
    resolved_at_t: float | None = None


@dataclass
class ScopeState:
    """What a table keeps per (kind, scope): the window, whether an alert is open, and the
    last step boundary its windows were evaluated at."""

    window: ScopeWindow = field(default_factory=ScopeWindow)
    alert: AlertState = field(default_factory=AlertState)
    evaluated_to: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": self.window.to_dict(),
            "alert": asdict(self.alert),
            "evaluated_to": self.evaluated_to,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ScopeState:
        if not data:
            return cls()
        return cls(
            ScopeWindow.from_dict(data["window"]),
            AlertState(**data["alert"]),
            data.get("evaluated_to"),
        )


@dataclass(frozen=True)
class LateDrop:
    tweet_id: str
    behind_s: float  # how far behind the evaluated horizon it was


@dataclass
class Admitted:
    """What one call to `Detector.admit` did, for the caller's metrics and logs."""

    counted: int = 0
    late: list[LateDrop] = field(default_factory=list)
    duplicates: int = 0
    clamped: int = 0


@dataclass(frozen=True)
class Detector:
    kind: AlertKind
    rule: Rule
    spec: WindowSpec
    cooldown_s: int

    def admit(
        self,
        state: ScopeState,
        observations: Iterable[Observation],
        horizon: int | None,
        now: datetime,
    ) -> Admitted:
        """Count the observations whose windows are still to be evaluated (those before
        `horizon`, the last boundary evaluated, are late). Event times more than
        `spec.max_ahead_s` ahead of `now` are clamped to `now`."""
        now_t = now.timestamp()
        admitted = Admitted()
        for observation in observations:
            t = clamp_to_arrival(observation.t, now_t, self.spec.max_ahead_s)
            if t != observation.t:
                admitted.clamped += 1
                observation = replace(observation, t=t)
            admission = state.window.add(self.spec, observation, horizon)
            if admission is Admission.COUNTED:
                admitted.counted += 1
            elif admission is Admission.DUPLICATE:
                admitted.duplicates += 1
            else:
                behind_s = (horizon or 0) - observation.t
                admitted.late.append(LateDrop(observation.tweet_id, behind_s))
        return admitted

    def needs_evaluation(self, state: ScopeState) -> bool:
        """Whether a window not yet evaluated can cross, or an open alert can resolve."""
        return state.alert.active or state.window.pending(self.spec, state.evaluated_to)

    def evaluate(self, state: ScopeState, scope: str, upto: int, now: datetime) -> list[Alert]:
        """Decide the window ending at every step boundary after the last one evaluated, up
        to `upto`, in order. Windows holding nothing are skipped (nothing is not a bad buzz)
        unless an alert is open."""
        step, size = self.spec.step_s, self.spec.size_s
        window = state.window
        alerts: list[Alert] = []
        after = state.evaluated_to
        first = window.next_bucket(-(2**62)) if after is None else after
        boundary = None if first is None else (first + step if after is None else after + step)
        while boundary is not None and boundary <= upto:
            if not state.alert.active:
                holding = window.next_bucket(boundary - size)
                if holding is None:
                    break
                boundary = max(boundary, holding + step)
                if boundary > upto:
                    break
            alerts += self._decide(state, scope, boundary, now)
            boundary += step
        if after is None or upto > after:
            state.evaluated_to = upto
            window.roll_up(self.spec, upto)
        return alerts

    def _decide(self, state: ScopeState, scope: str, end: int, now: datetime) -> list[Alert]:
        window = state.window.window(self.spec, end)
        crossed = self.rule.crossed(window, state.window.history(self.spec, end))
        if crossed and not state.alert.active and not self._cooling_down(state, end):
            state.alert = AlertState(active=True, alert_id=self._alert_id(scope, window))
            return [self._alert(state, scope, window, crossed, AlertStatus.RAISED, now)]
        if not crossed and state.alert.active:
            alert = self._alert(state, scope, window, "cleared", AlertStatus.RESOLVED, now)
            state.alert = AlertState(active=False, alert_id=None, resolved_at_t=end)
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
        delay_s = max(0.0, raised_at.timestamp() - window.end)
        terms, examples = what_it_is_about(window, state.window.terms, scope, self.spec.examples)
        return Alert(
            alert_id=state.alert.alert_id or self._alert_id(scope, window),
            kind=self.kind,
            status=status,
            scope=scope,
            window_start=datetime.fromtimestamp(window.start, tz=UTC),
            window_end=datetime.fromtimestamp(window.end, tz=UTC),
            count=round(window.negatives, 2),
            total=window.total,
            share=round(window.share, 4),
            threshold=threshold,
            examples=[AlertExample(tweet_id=i, text=t) for i, t in examples],
            terms=[AlertTerm(term=t.term, z_score=t.z_score, count=t.count) for t in terms],
            raised_at=raised_at,
            delay_s=round(delay_s, 1),
            on_catch_up=delay_s > self.spec.lateness_s + self.spec.size_s,
        )


ALERT_TERMS = 5


def what_it_is_about(
    window: WindowCounts, usual: TermCounts, scope: str, quoted: int
) -> tuple[list[Term], list[tuple[str, str]]]:
    """The terms most distinctive of the window's complaints against the scope's usual ones
    (retweets and near-copies counted once, the scope's own name left out), and the examples
    that cover them best."""
    bag = TermCounts()
    seen = set()
    for _, text in window.examples:
        if (key := dedupe_key(text)) not in seen:
            seen.add(key)
            bag.add(tokens(text, scope))
    terms = distinctive_terms(bag, usual, ALERT_TERMS)
    examples = representative_examples(window.examples, [t.term for t in terms], quoted)
    return terms, examples


def window_spec_from(settings: Settings) -> WindowSpec:
    return WindowSpec(
        size_s=settings.alert_window_s,
        step_s=settings.alert_step_s,
        lateness_s=settings.alert_lateness_s,
        baseline_s=settings.alert_baseline_s,
        examples=settings.alert_examples,
        example_chars=settings.alert_example_chars,
        max_examples=settings.alert_max_examples_kept,
        max_ahead_s=settings.event_time_max_ahead_s,
        max_ids=settings.alert_dedupe_max_ids,
    )


def detectors_from(settings: Settings) -> dict[AlertKind, Detector]:
    """Every alert default comes from Settings, here and nowhere else."""
    spec = window_spec_from(settings)
    sentiment_rule = AdaptiveNegativeRule(
        min_negatives=settings.alert_min_negatives,
        neutral_weight=settings.alert_neutral_weight,
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
