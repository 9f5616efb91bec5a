"""A badbuzz `Alert` as an alert of Alertmanager's v2 API (`POST /api/v2/alerts`).

Labels identify the episode: Alertmanager de-duplicates, groups and silences by them, so
they hold only what is stable for the whole episode (alert name, kind, brand, severity and
the alert id). Everything that changes, and everything a person reads, is an annotation.
Tweet text is untrusted: it is cleaned and cut here (`escaping.plain_text`), and Markdown
copies are given for chat receivers; HTML e-mail bodies are escaped by Alertmanager's
html/template.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas import Alert, AlertKind
from stream.notify.escaping import markdown_text, plain_text

ALERT_NAME = "BadBuzz"
SEVERITY = {AlertKind.NEGATIVE_SENTIMENT: "critical", AlertKind.NEGATIVE_FEEDBACK: "warning"}
LABEL_CHARS = 100
REASON_CHARS = 500
MAX_EXAMPLES = 3
MAX_TERMS = 10


@dataclass(frozen=True, slots=True)
class Presentation:
    """How alerts are shown: where the status page is, how long a quoted tweet may be."""

    status_page_url: str
    example_chars: int = 280


def episode_labels(alert: Alert) -> dict[str, str]:
    return {
        "alertname": ALERT_NAME,
        "kind": alert.kind.value,
        "brand": plain_text(alert.scope, LABEL_CHARS),
        "severity": SEVERITY[alert.kind],
        "alert_id": plain_text(alert.alert_id, LABEL_CHARS),
        "service": "badbuzz",
    }


def summary(alert: Alert) -> str:
    brand = plain_text(alert.scope, LABEL_CHARS)
    if alert.kind is AlertKind.NEGATIVE_FEEDBACK:
        return f"{alert.count:g} users reported wrong predictions about {brand}"
    return (
        f"Bad buzz about {brand}: {alert.count:g} negative tweets of {alert.total} "
        f"({alert.share:.0%}) in the window"
    )


def window_text(alert: Alert) -> str:
    start, end = (t.astimezone(UTC) for t in (alert.window_start, alert.window_end))
    return f"{start:%Y-%m-%d %H:%M:%S} to {end:%H:%M:%S} UTC"


def alertmanager_alert(
    alert: Alert, starts_at: datetime, ends_at: datetime, presentation: Presentation
) -> dict[str, Any]:
    """The JSON object Alertmanager's `postableAlert` expects; `ends_at` in the past means
    resolved, in the future the time after which Alertmanager resolves it on its own."""
    limit = presentation.example_chars
    examples = alert.examples[:MAX_EXAMPLES]
    terms = [plain_text(term.term, LABEL_CHARS) for term in alert.terms[:MAX_TERMS]]
    return {
        "labels": episode_labels(alert),
        "annotations": {
            "summary": summary(alert),
            "reason": plain_text(alert.threshold, REASON_CHARS),
            "count": f"{alert.count:g}",
            "total": str(alert.total),
            "share": f"{alert.share:.0%}",
            "window": window_text(alert),
            "terms": ", ".join(terms),
            "examples": "\n".join(f"- {plain_text(e.text, limit)}" for e in examples),
            "examples_markdown": "\n".join(f"- {markdown_text(e.text, limit)}" for e in examples),
            "status_page": presentation.status_page_url,
        },
        "startsAt": starts_at.isoformat(),
        "endsAt": ends_at.isoformat(),
        "generatorURL": presentation.status_page_url,
    }
