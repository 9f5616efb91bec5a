"""A stand-in for Alertmanager in the demo: it accepts `POST /api/v2/alerts`, as the real
one does, and prints each new notification, so `make demo` shows the whole path
(tweets -> worker -> alerts.badbuzz -> `badbuzz notify` -> a notification) without
installing Alertmanager. Nothing is routed or e-mailed: that is Alertmanager's job."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from stream.notify.escaping import plain_text

LINE_CHARS = 160


def state(alert: dict[str, Any], now: datetime) -> str:
    """FIRING, or RESOLVED once its endsAt has passed (Alertmanager's own reading)."""
    ends_at = alert.get("endsAt")
    return "RESOLVED" if ends_at and datetime.fromisoformat(ends_at) <= now else "FIRING"


def describe_notification(alert: dict[str, Any], now: datetime) -> str:
    """What an e-mail of this alert would say, in a few terminal lines (text is cleaned: a
    tweet cannot move the cursor or colour the terminal)."""
    labels, notes = alert.get("labels", {}), alert.get("annotations", {})
    lines = [f"[{state(alert, now)}] {plain_text(str(notes.get('summary', labels)), LINE_CHARS)}"]
    if notes.get("terms"):
        lines.append(f"  about: {plain_text(notes['terms'], LINE_CHARS)}")
    lines.extend(
        f"  {plain_text(example, LINE_CHARS)}"
        for example in str(notes.get("examples", "")).splitlines()
    )
    if notes.get("status_page"):
        lines.append(f"  status page: {plain_text(notes['status_page'], LINE_CHARS)}")
    return "\n".join(lines)


class NotificationSink:
    """Serves on 127.0.0.1 (a free port); `received` holds each (alert id, state) once."""

    def __init__(self, clock: Callable[[], datetime], show: Callable[[str], None] = print) -> None:
        self.received: dict[tuple[str, str], dict[str, Any]] = {}
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path != "/api/v2/alerts":
                    self.send_error(404)
                    return
                length = int(self.headers.get("Content-Length", 0))
                try:
                    alerts = json.loads(self.rfile.read(length))
                except ValueError:
                    self.send_error(400)
                    return
                sink.take(alerts, clock(), show)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._lock = threading.Lock()

    def take(
        self, alerts: list[dict[str, Any]], now: datetime, show: Callable[[str], None]
    ) -> None:
        for alert in alerts:
            key = (str(alert.get("labels", {}).get("alert_id")), state(alert, now))
            with self._lock:
                if key in self.received:
                    continue  # a refresh of an active alert: Alertmanager would not re-send
                self.received[key] = alert
            show(f"notification received:\n{describe_notification(alert, now)}")

    def __enter__(self) -> NotificationSink:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
