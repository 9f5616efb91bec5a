"""The alerts that are active now, so the notifier can keep them alive in Alertmanager.

Alertmanager resolves an alert on its own at its `endsAt`. A raised alert is therefore sent
with `endsAt` = now + `ttl_s` and sent again every `resend_s` (a few times within the ttl,
as Prometheus does), until its `resolved` message arrives and it is sent with `endsAt` =
the resolution time. Time comes from the caller: nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from schemas import Alert, AlertStatus
from stream.notify.payload import Presentation, alertmanager_alert


@dataclass(slots=True)
class Episode:
    alert: Alert
    starts_at: datetime


class ActiveAlerts:
    def __init__(self, presentation: Presentation, resend_s: float, ttl_s: float) -> None:
        self.presentation = presentation
        self.resend = timedelta(seconds=resend_s)
        self.ttl = timedelta(seconds=ttl_s)
        self.episodes: dict[str, Episode] = {}
        self.last_refresh: datetime | None = None

    def __len__(self) -> int:
        return len(self.episodes)

    def apply(self, alert: Alert, now: datetime) -> dict[str, Any]:
        """Records a raise or a resolution and returns what to send Alertmanager for it."""
        if alert.status is AlertStatus.RAISED:
            known = self.episodes.get(alert.alert_id)
            starts_at = known.starts_at if known else alert.window_start
            self.episodes[alert.alert_id] = Episode(alert, starts_at)
            return alertmanager_alert(alert, starts_at, now + self.ttl, self.presentation)
        known = self.episodes.pop(alert.alert_id, None)
        starts_at = known.starts_at if known else alert.window_start
        ended_at = max(min(alert.raised_at, now), starts_at)
        return alertmanager_alert(alert, starts_at, ended_at, self.presentation)

    def refresh_due(self, now: datetime) -> bool:
        return self.last_refresh is None or now - self.last_refresh >= self.resend

    def refreshed(self, now: datetime) -> list[dict[str, Any]]:
        """Every active alert again, with its `endsAt` pushed `ttl_s` past now."""
        self.last_refresh = now
        return [
            alertmanager_alert(e.alert, e.starts_at, now + self.ttl, self.presentation)
            for e in self.episodes.values()
        ]
