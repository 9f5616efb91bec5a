"""Alerts as Alertmanager alerts, and the active set that keeps them alive (stream/notify)."""

from __future__ import annotations

from datetime import timedelta

from schemas import AlertStatus
from stream.notify.episodes import ActiveAlerts
from stream.notify.payload import Presentation, alertmanager_alert
from tests.support import ALERT_T0, sample_alert

PAGE = Presentation("http://status.example/", example_chars=40)


def test_labels_identify_the_episode_and_annotations_carry_what_to_read() -> None:
    sent = alertmanager_alert(
        sample_alert(), ALERT_T0 - timedelta(minutes=5), ALERT_T0 + timedelta(minutes=4), PAGE
    )
    assert sent["labels"] == {
        "alertname": "BadBuzz",
        "kind": "negative_sentiment",
        "brand": "airparadis",
        "severity": "critical",
        "alert_id": "a1",
        "service": "badbuzz",
    }
    notes = sent["annotations"]
    assert (
        notes["summary"]
        == "Bad buzz about airparadis: 28 negative tweets of 40 (70%) in the window"
    )
    assert notes["terms"] == "cancelled"
    assert notes["reason"].startswith("28 negatives")
    assert notes["status_page"] == sent["generatorURL"] == "http://status.example/"
    example = notes["examples"].removeprefix("- ")
    assert len(example) == 40 and "\x1b" not in example  # cut and cleaned, HTML left to AM
    assert r"\<b\>" in notes["examples_markdown"]
    assert sent["startsAt"] == "2026-03-01T11:55:00+00:00"
    assert notes["window"] == "2026-03-01 11:55:00 to 12:00:00 UTC"


def test_active_alerts_are_refreshed_until_resolved() -> None:
    active = ActiveAlerts(PAGE, resend_s=60, ttl_s=240)
    raised = active.apply(sample_alert(), ALERT_T0)
    assert raised["endsAt"] == (ALERT_T0 + timedelta(seconds=240)).isoformat()
    assert active.refresh_due(ALERT_T0)
    assert [a["labels"]["alert_id"] for a in active.refreshed(ALERT_T0)] == ["a1"]
    assert not active.refresh_due(ALERT_T0 + timedelta(seconds=59))
    later = ALERT_T0 + timedelta(seconds=60)
    assert active.refresh_due(later)
    (again,) = active.refreshed(later)
    assert again["startsAt"] == raised["startsAt"]  # the episode keeps its start
    assert again["endsAt"] == (later + timedelta(seconds=240)).isoformat()

    end = ALERT_T0 + timedelta(minutes=20)
    resolved = active.apply(sample_alert(AlertStatus.RESOLVED, at=end), end + timedelta(seconds=2))
    assert resolved["startsAt"] == raised["startsAt"]
    assert resolved["endsAt"] == end.isoformat()
    assert len(active) == 0 and active.refreshed(end) == []


def test_a_resolution_of_an_unknown_alert_is_still_sent_resolved() -> None:
    active = ActiveAlerts(PAGE, resend_s=60, ttl_s=240)
    resolved = active.apply(sample_alert(AlertStatus.RESOLVED), ALERT_T0 + timedelta(seconds=5))
    assert resolved["endsAt"] == ALERT_T0.isoformat() and resolved["startsAt"] < resolved["endsAt"]
