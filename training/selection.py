"""The champion rule, kept free of MLflow so callers can build one without importing it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Selection:
    """How the champion is chosen: the best `metric` (validation only) among candidates whose
    recall on both classes reaches `recall_floor` (a model that says 'positive' to everything
    has perfect negative precision and must not win) and that score at least
    `min_tweets_per_s` on one thread (the served model must keep up with a bad buzz; the
    transformer, at a few hundred tweets/s, is the BiLSTM's teacher rather than a server)."""

    metric: str = "validation.precision_positive"
    recall_floor: float = 0.7
    min_tweets_per_s: float = 8_000.0

    def eligible(self, metrics: dict[str, float]) -> bool:
        """The floor holds for every language the candidate reads: English on validation, a
        French route (`fr.test.*`, training/french.py's held-out split) when it has one."""
        polarities = ("negative", "positive")
        recalls = [metrics.get(f"validation.recall_{c}", 0.0) for c in polarities]
        recalls += [metrics[k] for c in polarities if (k := f"fr.test.recall_{c}") in metrics]
        speed = metrics.get("tweets_per_s", 0.0)
        return min(recalls) >= self.recall_floor and speed >= self.min_tweets_per_s


DEFAULT_SELECTION = Selection()
