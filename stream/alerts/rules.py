"""When a window is a bad buzz: the rules, as pure functions of a window and its history.

A rule answers in words a reader of the alert follows, or None; it never sees a clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from stream.alerts.windows import WindowCounts


class Rule(Protocol):
    def crossed(self, window: WindowCounts, history: WindowCounts) -> str | None:
        """Why the window is a bad buzz, in words a reader of the alert follows, or None."""


def poisson_upper_tail(count: float, mean: float) -> float:
    """P(X >= count) for X ~ Poisson(mean), summed in log space so large counts do not
    overflow (scipy is not a worker dependency); a fractional count is rounded up."""
    count = math.ceil(count)
    if count <= 0:
        return 1.0
    if mean <= 0:
        return 0.0

    def log_pmf(j: int) -> float:
        return j * math.log(mean) - mean - math.lgamma(j + 1)

    if count > mean:  # terms fall from the first one on: sum the tail itself
        total, term, j = 0.0, math.exp(log_pmf(count)), count
        while term > total * 1e-15 and term > 0.0:
            total += term
            j += 1
            term *= mean / j
        return min(1.0, total)
    return max(0.0, 1.0 - sum(math.exp(log_pmf(j)) for j in range(count)))


@dataclass(frozen=True)
class AdaptiveNegativeRule:
    """A scope's complaint weight in the window (the `negatives` of its counts: each tweet
    weighs p_negative + neutral_weight x p_neutral, stream/alerts/measure.py) against that
    scope's own usual rate.

    The usual rate is the trailing history's weight per second, shrunk towards a prior
    rate (`cold_start_negatives / min_ratio` per window, worth `prior_s` seconds of
    history), so a scope with no history is held to the cold-start floor and one with an
    hour of history to its own rate. It fires when the weight is large in absolute terms
    (`min_negatives`), relative to the usual rate (`min_ratio`), and unlikely under it
    (Poisson upper tail below `max_p_value`): the ratio keeps busy scopes from alerting on
    small relative changes that are significant, the p-value keeps small scopes from
    alerting on noise that is large relative to a tiny rate.
    """

    min_negatives: float
    min_ratio: float
    max_p_value: float
    cold_start_negatives: int
    prior_s: int
    neutral_weight: float  # the measure's, to say in the alert what was counted

    def expected(self, window: WindowCounts, history: WindowCounts) -> float:
        window_s = window.end - window.start
        prior_negatives = self.cold_start_negatives / self.min_ratio * self.prior_s / window_s
        history_s = history.end - history.start
        return window_s * (history.negatives + prior_negatives) / (history_s + self.prior_s)

    def crossed(self, window: WindowCounts, history: WindowCounts) -> str | None:
        count = window.negatives
        if count < self.min_negatives:
            return None
        expected = self.expected(window, history)
        ratio = count / expected
        if ratio < self.min_ratio:
            return None
        p_value = poisson_upper_tail(count, expected)
        if p_value >= self.max_p_value:
            return None
        history_min = (history.end - history.start) / 60
        usual = (
            f"this scope's last {history_min:.0f} min"
            if history_min
            else f"no history yet (cold-start floor {self.cold_start_negatives})"
        )
        return (
            f"complaint weight {count:.1f} (p_negative + {self.neutral_weight:g} x p_neutral "
            f"over {window.total} tweets) in {(window.end - window.start) / 60:g} min, "
            f"{ratio:.1f}x the {expected:.1f} expected from {usual}, Poisson p={p_value:.1g} "
            f"(fires at >= {self.min_negatives:g}, >= {self.min_ratio:g}x expected "
            f"and p < {self.max_p_value:g})"
        )


@dataclass(frozen=True)
class NegativeFeedbackRule:
    min_reports: int

    def crossed(self, window: WindowCounts, history: WindowCounts) -> str | None:
        if window.negatives >= self.min_reports:
            return f"wrong-prediction reports from >={self.min_reports} distinct reporters"
        return None
