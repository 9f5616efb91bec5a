"""Posting to Alertmanager: back-off, retries until accepted, final refusals (delivery.py)."""

from __future__ import annotations

from typing import Any

from stream.notify.delivery import AlertmanagerClient, Backoff, Rejected, deliver
from stream.observability.metrics import NOTIFICATIONS


class FlakyAlertmanager(AlertmanagerClient):
    def __init__(self, failures: list[Exception]) -> None:
        super().__init__("http://am.example:9093")
        self.failures = failures
        self.posts: list[list[dict[str, Any]]] = []

    def post(self, alerts: Any) -> None:
        self.posts.append(list(alerts))
        if self.failures:
            raise self.failures.pop(0)


def count(outcome: str) -> float:
    return NOTIFICATIONS.labels("am.example:9093", outcome)._value.get()


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [Backoff(0.5, 3.0).delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_retries_with_backoff_until_accepted_and_counts_each_outcome() -> None:
    client = FlakyAlertmanager([ConnectionRefusedError("down"), TimeoutError("slow")])
    waits: list[float] = []
    before = {o: count(o) for o in ("sent", "retried", "failed")}
    assert deliver(client, [{"a": 1}, {"b": 2}], Backoff(1.0, 10.0), lambda s: not waits.append(s))
    assert waits == [1.0, 2.0] and len(client.posts) == 3
    assert count("retried") - before["retried"] == 4
    assert count("sent") - before["sent"] == 2
    assert count("failed") == before["failed"]


def test_stopping_during_a_retry_reports_not_delivered() -> None:
    client = FlakyAlertmanager([ConnectionRefusedError("down")] * 5)
    assert not deliver(client, [{"a": 1}], Backoff(), lambda s: False)
    assert len(client.posts) == 1


def test_a_final_refusal_is_counted_failed_and_not_retried() -> None:
    client = FlakyAlertmanager([Rejected("HTTP 400: bad alert")])
    before = count("failed")
    assert deliver(client, [{"a": 1}], Backoff(), lambda s: True)
    assert len(client.posts) == 1 and count("failed") - before == 1
    assert deliver(client, [], Backoff(), lambda s: True) and len(client.posts) == 1
