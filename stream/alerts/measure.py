"""The complaint measure: how much one scored tweet counts towards a brand's complaints.

A weight in [0, 1], so a window's count and its baseline are sums of the same measure. The
alert rule (stream/alerts/rules.py) decides on those sums; this decides what they add up.

Brand traffic is mostly complaints, many of them neutral-sounding ("been on hold for two
hours"): a model trained on general tweets calls a third of them neutral. Counting only the
`negative` label loses those; counting everything that is not positive counts every question
as a complaint. A tweet weighs its probability of being negative plus a share of its
probability of being neutral (docs/alerts.md says how the share was chosen).
"""

from __future__ import annotations

from schemas import SentimentEvent

COMPLAINT_EXAMPLE_WEIGHT = 0.5  # a tweet quoted as an example is more likely a complaint


def complaint_weight(event: SentimentEvent, neutral_weight: float) -> float:
    """p_negative + `neutral_weight` x p_neutral, from the event's corrected probabilities (a
    binary model has no neutral: its p_negative is 1 - p_positive)."""
    p_negative = event.p_negative if event.p_negative is not None else 1.0 - event.p_positive
    p_neutral = max(0.0, 1.0 - event.p_positive - p_negative)
    return min(1.0, p_negative + neutral_weight * p_neutral)
