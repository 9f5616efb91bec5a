"""Alerts reach people: alerts.badbuzz -> `badbuzz notify` -> the real Alertmanager (Debian's
prometheus-alertmanager, `make tools`) with the repo's config and templates -> an e-mail to a
local SMTP server (aiosmtpd) and a webhook served here. Also: resolution, a notifier killed
mid-episode, and an Alertmanager outage."""

from __future__ import annotations

import email
import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller

from tests.support import (
    PROJECT_ROOT,
    WorkerProcess,
    free_port,
    produce,
    tweet_payload,
    wait_for,
)

pytestmark = pytest.mark.integration

ALERTMANAGER_DIR = PROJECT_ROOT / "deploy" / "alertmanager"
NOTIFY_ENV = {
    "BADBUZZ_NOTIFY_RESEND_S": "2",
    "BADBUZZ_NOTIFY_RETRY_INITIAL_S": "0.5",
    "BADBUZZ_NOTIFY_RETRY_MAX_S": "4",
    "BADBUZZ_STATUS_PAGE_URL": "http://status.example/",
}
HOSTILE = "<script>alert('x')</script> **refund** [link](http://evil.example) \x1b[31mred"


def alertmanager_binary() -> str:
    for name in ("alertmanager", "prometheus-alertmanager"):
        found = shutil.which(name)
        for folder in (Path(sys.executable).parent, PROJECT_ROOT / ".venv/bin"):
            if found is None and (folder / name).is_file():
                found = str(folder / name)
        if found:
            return found
    pytest.fail("Alertmanager is not installed: run `make tools`, then the tests again")


class Mailbox:
    """An SMTP server on a free port that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def matching(self, word: str) -> list[Message]:
        return [m for m in self.messages if word in str(m["Subject"])]


def body(message: Message, kind: str) -> str:
    for part in message.walk():
        if part.get_content_type() == f"text/{kind}":
            return part.get_payload(decode=True).decode()
    raise AssertionError(f"no text/{kind} part")


class Webhook:
    """An HTTP server on a free port that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/badbuzz"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Alertmanager:
    """The real binary, with deploy/alertmanager's config made fast and local."""

    def __init__(self, workdir: Path, mailbox: Mailbox, webhook: Webhook) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        text = (ALERTMANAGER_DIR / "alertmanager.yml").read_text()
        for placeholder, value in {
            "__SMTP_SMARTHOST__": f"127.0.0.1:{mailbox.port}",
            "__ALERT_EMAIL_FROM__": "badbuzz@example.com",
            "__ALERT_EMAIL_TO__": "communication@example.com",
            "__ALERT_WEBHOOK_URL__": webhook.url,
        }.items():
            text = text.replace(placeholder, value)
        config = yaml.safe_load(text)
        for key in ("smtp_auth_username", "smtp_auth_password_file"):
            del config["global"][key]
        config["global"]["smtp_require_tls"] = False
        config["templates"] = [str(ALERTMANAGER_DIR / "templates" / "*.tmpl")]
        config["route"].update(group_wait="1s", group_interval="2s", repeat_interval="1h")
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "alertmanager.yml").write_text(yaml.safe_dump(config))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.workdir / "alertmanager.log").open("ab")
        self.process = subprocess.Popen(
            [
                alertmanager_binary(),
                f"--config.file={self.workdir / 'alertmanager.yml'}",
                f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while not self.ready():
            assert time.monotonic() < deadline and self.process.poll() is None, self.log()
            time.sleep(0.2)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def log(self) -> str:
        return (self.workdir / "alertmanager.log").read_text(errors="replace")[-3000:]


class Stack:
    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self.env = {**env, **NOTIFY_ENV}
        self.tmp_path = tmp_path
        self.mailbox = Mailbox()
        self.webhook = Webhook()
        self.alertmanager = Alertmanager(tmp_path / "am", self.mailbox, self.webhook)
        self.env["BADBUZZ_ALERTMANAGER_URL"] = self.alertmanager.url
        self.notifiers: list[WorkerProcess] = []

    def start_notifier(self) -> WorkerProcess:
        notifier = WorkerProcess(self.env, self.tmp_path / "notify", command="notify")
        notifier.start()
        self.notifiers.append(notifier)
        return notifier

    def produce_alert(self, alert_id: str, status: str, brand: str = "airparadis") -> None:
        now = datetime.now(UTC)
        alert = {
            "alert_id": alert_id,
            "kind": "negative_sentiment",
            "status": status,
            "scope": brand,
            "window_start": (now - timedelta(minutes=5)).isoformat(),
            "window_end": now.isoformat(),
            "count": 28,
            "total": 41,
            "share": 0.6829,
            "threshold": "28 negatives >= 3.0x the usual 3.6 (p < 0.001)",
            "examples": [
                {"tweet_id": "t1", "text": "flight cancelled, where is my refund " * 20},
                {"tweet_id": "t2", "text": HOSTILE},
            ],
            "terms": [
                {"term": "cancelled", "z_score": 3.1, "count": 7},
                {"term": "refund", "z_score": 2.6, "count": 5},
            ],
            "raised_at": now.isoformat(),
        }
        produce(
            self.env["KAFKA_BOOTSTRAP_SERVERS"],
            self.env["BADBUZZ_TOPIC_ALERTS"],
            [(brand.encode(), json.dumps(alert).encode())],
        )

    def close(self) -> None:
        for notifier in self.notifiers:
            notifier.stop()
        self.alertmanager.stop()
        self.mailbox.controller.stop()
        self.webhook.server.shutdown()


@pytest.fixture
def stack(unique_env: dict[str, str], tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(unique_env, tmp_path)
    stack.mailbox.controller.start()
    stack.alertmanager.start()
    yield stack
    stack.close()


def test_an_alert_becomes_an_email_and_a_webhook_call_then_a_resolved_one(stack: Stack) -> None:
    notifier = stack.start_notifier()
    stack.produce_alert("ep-1", "raised")
    mails = stack.mailbox
    wait_for(lambda: mails.matching("FIRING"), 30, [notifier], "the e-mail")
    (mail,) = mails.matching("FIRING")
    assert "Bad buzz: airparadis" in mail["Subject"]
    text = body(mail, "plain")
    assert "28 negative tweets of 41 (68%)" in text and "Negatives: 28 of 41" in text
    assert "What it is about: cancelled, refund" in text
    assert "flight cancelled, where is my refund" in text
    assert "\x1b" not in text and "http://status.example/" in text
    quoted = next(line for line in text.splitlines() if "refund flight" in line)
    assert len(quoted) <= len("- ") + 280
    html = body(mail, "html")
    assert "&lt;script&gt;" in html and "<script>" not in html

    wait_for(lambda: stack.webhook.posts, 10, [notifier], "the webhook call")
    (firing,) = stack.webhook.posts[0]["alerts"]
    assert firing["status"] == "firing"
    assert firing["labels"]["brand"] == "airparadis" and firing["labels"]["alertname"] == "BadBuzz"
    assert r"\*\*refund\*\*" in firing["annotations"]["examples_markdown"]

    stack.produce_alert("ep-1", "resolved")
    wait_for(lambda: mails.matching("RESOLVED"), 30, [notifier], "the resolved e-mail")
    wait_for(
        lambda: any(post["status"] == "resolved" for post in stack.webhook.posts),
        10,
        [notifier],
        "the resolved webhook call",
    )
    assert len(mails.matching("FIRING")) == 1


def test_a_notifier_killed_mid_episode_sends_no_second_email(stack: Stack) -> None:
    notifier = stack.start_notifier()
    stack.produce_alert("ep-2", "raised")
    wait_for(lambda: stack.mailbox.matching("FIRING"), 30, [notifier], "the e-mail")
    notifier.kill()
    restarted = stack.start_notifier()
    wait_for(
        lambda: any(
            line.get("event") == "notifier_rebuilt" and line.get("active_alerts") == 1
            for line in restarted.log_lines()
        ),
        30,
        [restarted],
        "the restarted notifier to know the active alert",
    )
    sent = 'badbuzz_notifications_total{outcome="sent",receiver="127.0.0.1:%d"}'
    key = sent % stack.alertmanager.port
    wait_for(lambda: restarted.metrics().get(key, 0) >= 2, 20, [restarted], "refreshes")
    time.sleep(3)  # more than group_interval: a second e-mail would have been sent by now
    assert len(stack.mailbox.messages) == 1
    stack.produce_alert("ep-2", "resolved")
    wait_for(lambda: stack.mailbox.matching("RESOLVED"), 30, [restarted], "the resolved e-mail")
    assert len(stack.mailbox.matching("FIRING")) == 1


def test_an_alertmanager_outage_is_retried_and_loses_nothing(stack: Stack) -> None:
    notifier = stack.start_notifier()
    wait_for(lambda: notifier.metrics(), 30, [notifier], "the notifier's metrics")
    stack.alertmanager.stop()
    stack.produce_alert("ep-3", "raised", brand="brand-during-outage")
    retried = 'badbuzz_notifications_total{outcome="retried",receiver="127.0.0.1:%d"}'
    key = retried % stack.alertmanager.port
    wait_for(lambda: notifier.metrics().get(key, 0) >= 4, 20, [notifier], "retries")
    # killed while Alertmanager is still down: nothing was committed, the next one delivers
    notifier.kill()
    notifier = stack.start_notifier()
    wait_for(lambda: notifier.metrics().get(key, 0) >= 2, 30, [notifier], "retries")
    stack.alertmanager.start()
    wait_for(
        lambda: stack.mailbox.matching("brand-during-outage"),
        20,
        [notifier],
        "the e-mail after the outage",
    )
    retries = [line for line in notifier.log_lines() if line.get("event") == "notification_retry"]
    assert all(line["level"] == "warning" and line["error"] for line in retries)
    delays = [line["retry_in_s"] for line in retries]
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0] and max(delays) == 4.0  # the first notifier's
    assert any(
        line.get("event") == "notification_delivered_after_retries" for line in notifier.log_lines()
    )
    sent = key.replace("retried", "sent")
    wait_for(lambda: notifier.metrics().get(sent, 0) >= 1, 10, [notifier], "the sent count")
    assert notifier.metrics()[key] >= 2


def test_a_burst_of_tweets_through_the_worker_reaches_the_mailbox(
    stack: Stack, start_worker: Callable[..., WorkerProcess]
) -> None:
    env = {**stack.env, "BADBUZZ_ALERT_COLD_START_NEGATIVES": "15"}
    angry = [
        "flight cancelled and no refund, disgusting service",
        "lost my luggage again, rude staff, never flying with them again",
        "delayed six hours, no food, no information, terrible",
    ]
    now = datetime.now(UTC).isoformat()
    produce(
        env["KAFKA_BOOTSTRAP_SERVERS"],
        env["BADBUZZ_TOPIC_RAW"],
        [
            tweet_payload(f"w-{n}", angry[n % 3], brand="paradis-e2e", created_at=now)
            for n in range(40)
        ],
    )
    worker = start_worker(env)
    notifier = stack.start_notifier()
    wait_for(
        lambda: stack.mailbox.matching("paradis-e2e"),
        90,
        [worker, notifier],
        "the e-mail of the worker's alert",
    )
    text = body(stack.mailbox.matching("paradis-e2e")[0], "plain")
    assert "FIRING negative_sentiment for paradis-e2e" in text
    assert any(sentence in text for sentence in angry)
    assert any(
        alert["labels"]["brand"] == "paradis-e2e"
        for post in stack.webhook.posts
        for alert in post["alerts"]
    )
