"""The demo's stand-in for Alertmanager prints each notification once, as text."""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta

from schemas import AlertStatus
from stream.notify.episodes import ActiveAlerts
from stream.notify.payload import Presentation
from stream.tools.notification_sink import NotificationSink
from tests.support import ALERT_T0, sample_alert


def post(url: str, alerts: list[dict]) -> int:
    request = urllib.request.Request(
        f"{url}/api/v2/alerts", data=json.dumps(alerts).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status


def test_the_sink_shows_a_firing_then_a_resolved_notification_once_each() -> None:
    shown: list[str] = []
    now = ALERT_T0 + timedelta(seconds=1)
    active = ActiveAlerts(Presentation("http://127.0.0.1:6066/"), resend_s=60, ttl_s=240)
    with NotificationSink(clock=lambda: now, show=shown.append) as sink:
        assert post(sink.url, [active.apply(sample_alert(), ALERT_T0)]) == 200
        assert post(sink.url, active.refreshed(ALERT_T0)) == 200
        end = ALERT_T0 + timedelta(minutes=10)
        now = end + timedelta(seconds=1)
        assert (
            post(sink.url, [active.apply(sample_alert(AlertStatus.RESOLVED, at=end), now)]) == 200
        )
    assert len(shown) == 2 and len(sink.received) == 2
    firing, resolved = shown
    assert firing.startswith("notification received:\n[FIRING] Bad buzz about airparadis")
    assert "about: cancelled" in firing and "status page: http://127.0.0.1:6066/" in firing
    assert "\x1b" not in firing and "flight <b>cancelled</b>" in firing
    assert resolved.startswith("notification received:\n[RESOLVED]")
