"""Sends alerts to Alertmanager's v2 API and retries, with capped exponential back-off,
until it accepts them: nothing is dropped because Alertmanager was down or restarting.

Only a 4xx answer other than 408/429 is final (Alertmanager will never accept that
payload): it is logged and counted as `failed`, and the notifier moves on.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import structlog

from stream.observability.metrics import NOTIFICATIONS

log = structlog.get_logger("badbuzz.notify")
RETRYABLE_CLIENT_ERRORS = (408, 429)


@dataclass(frozen=True, slots=True)
class Backoff:
    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0

    def delay(self, attempt: int) -> float:
        """Wait before retry number `attempt` (1, 2, ...): initial, doubled, at most max_s."""
        return min(self.initial_s * self.factor ** (attempt - 1), self.max_s)


class Rejected(Exception):
    """Alertmanager answered a final 4xx: retrying the same payload cannot succeed."""


class AlertmanagerClient:
    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.url = base_url.rstrip("/") + "/api/v2/alerts"
        self.receiver = urlsplit(base_url).netloc or base_url
        self.timeout_s = timeout_s

    def post(self, alerts: Sequence[dict[str, Any]]) -> None:
        """Raises `Rejected` on a final refusal, `OSError` (URLError, HTTPError) otherwise."""
        request = urllib.request.Request(
            self.url,
            data=json.dumps(list(alerts)).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                response.read()
        except urllib.error.HTTPError as error:
            if 400 <= error.code < 500 and error.code not in RETRYABLE_CLIENT_ERRORS:
                body = error.read(500).decode(errors="replace")
                raise Rejected(f"HTTP {error.code}: {body}") from error
            raise


def deliver(
    client: AlertmanagerClient,
    alerts: Sequence[dict[str, Any]],
    backoff: Backoff,
    wait: Callable[[float], bool],
) -> bool:
    """Posts `alerts` until Alertmanager takes them or refuses them for good (True), or
    `wait(delay)` says to stop waiting (False: not delivered, nothing may be committed)."""
    if not alerts:
        return True
    receiver = client.receiver
    attempt = 0
    while True:
        try:
            client.post(alerts)
        except Rejected as error:
            NOTIFICATIONS.labels(receiver, "failed").inc(len(alerts))
            log.error(
                "notification_rejected", receiver=receiver, alerts=len(alerts), error=str(error)
            )
            return True
        except OSError as error:
            attempt += 1
            delay = backoff.delay(attempt)
            log.warning(
                "notification_retry",
                receiver=receiver,
                alerts=len(alerts),
                attempt=attempt,
                retry_in_s=delay,
                error=f"{type(error).__name__}: {error}",
            )
            NOTIFICATIONS.labels(receiver, "retried").inc(len(alerts))
            if not wait(delay):
                return False
            continue
        NOTIFICATIONS.labels(receiver, "sent").inc(len(alerts))
        if attempt:
            log.info(
                "notification_delivered_after_retries", receiver=receiver, attempts=attempt + 1
            )
        return True
