"""The complaint measure: how much one scored tweet counts towards a brand's complaints.

A weight in [0, 1], so a window's count and its baseline are sums of the same measure. The
alert rule (stream/alerts/rules.py) decides on those sums; this decides what they add up.
"""

from __future__ import annotations

from schemas import Label, SentimentEvent


def complaint_weight(event: SentimentEvent) -> float:
    """1 for a tweet labelled negative, 0 otherwise."""
    return 1.0 if event.label is Label.NEGATIVE else 0.0
