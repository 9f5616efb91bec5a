"""Simulated airline traffic to choose the adaptive alert rule's defaults.

The traffic has the shape the issue measured on real airline tweets: six brands at 1 to 10
tweets a minute on a daily cycle, two thirds negative, and bursts of 8 to 16 extra
negatives within a few minutes. A window is a bad buzz by the human-label definition: at
least 8 negatives and at least 3x the brand's usual count (its mean negative rate over the
time of day). Each configuration of the rule replays the traffic through the worker's
pipeline (the harness `badbuzz eval-alerts` runs, the human labels as scores) and is scored
on bad buzzes caught (recall) and alerts that match one (precision); the rest of the
settings are the defaults.

    python -m bench.alert_defaults [--days 3] [--seed 7]
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

from stream.settings import Settings
from stream.tools.eval_alerts import Interval, LabelledTweet, LabelScorer, compare, replay_alerts

DAY_S = 86_400
RATES_PER_MIN = (1, 2, 3, 5, 7, 10)
NEGATIVE_SHARE = 2 / 3
WINDOW_S, STEP_S = Settings().alert_window_s, Settings().alert_step_s


def simulate(days: int, seed: int) -> tuple[list[LabelledTweet], list[Interval]]:
    """Tweets in time order and the bad-buzz episodes they hold."""
    rng = np.random.default_rng(seed)
    span = days * DAY_S
    tweets: list[LabelledTweet] = []
    episodes: list[Interval] = []
    for brand, rate in enumerate(RATES_PER_MIN):
        scope = f"airline{brand}"
        grid = np.arange(0, span, 60)
        counts = rng.poisson(daily_rate(rate, grid + 30))
        times = np.concatenate([m + rng.random(c) * 60 for m, c in zip(grid, counts, strict=True)])
        negative = rng.random(len(times)) < NEGATIVE_SHARE
        bursts = rng.uniform(2 * 3600, span - 3600, size=int(days * 6))
        extra = [start + rng.random(rng.integers(8, 17)) * rng.uniform(60, 300) for start in bursts]
        times = np.concatenate([times, *extra])
        negative = np.concatenate([negative, np.ones(sum(map(len, extra)), dtype=bool)])
        tweets += [
            LabelledTweet(
                float(t), scope, f"{scope} {k}", "negative" if n else "positive", f"{scope}-{k}"
            )
            for k, (t, n) in enumerate(zip(times, negative, strict=True))
        ]
        episodes += buzz_episodes(scope, np.sort(times[negative]), rate, span)
    return sorted(tweets, key=lambda tweet: tweet.t), episodes


def daily_rate(rate: float, t: np.ndarray) -> np.ndarray:
    """Tweets a minute: quiet at night, up to 1.8x the mean in the afternoon."""
    return np.clip(rate * (1 + 0.8 * np.sin(2 * np.pi * (t / DAY_S - 0.375))), 0.05, None)


def buzz_episodes(scope: str, negatives: np.ndarray, rate: float, span: int) -> list[Interval]:
    """Runs of hopping windows with >= 8 negatives and >= 3x the usual count at that time of
    day (against the daily mean, every afternoon of a small brand would be a bad buzz)."""
    starts = np.arange(0, span, STEP_S)
    usual = daily_rate(rate, starts + WINDOW_S / 2) * NEGATIVE_SHARE * WINDOW_S / 60
    in_window = np.searchsorted(negatives, starts + WINDOW_S) - np.searchsorted(negatives, starts)
    buzz = (in_window >= 8) & (in_window >= 3 * usual)
    episodes: list[Interval] = []
    for is_buzz, run in itertools.groupby(zip(starts, buzz, strict=True), key=lambda pair: pair[1]):
        if is_buzz:
            run_starts = [start for start, _ in run]
            episodes.append(Interval(scope, run_starts[0], run_starts[-1] + WINDOW_S))
    return episodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    tweets, episodes = simulate(args.days, args.seed)
    print(f"{len(tweets)} tweets, {len(episodes)} bad-buzz episodes over {args.days} days")
    print("ratio  p-value  prior_s  alerts  caught  added  recall  precision")
    for ratio, p_value, prior_s in itertools.product((2.5, 3.0), (0.01, 0.001), (60, 300)):
        settings = Settings(
            label_shift=False,
            alert_min_ratio=ratio,
            alert_max_p_value=p_value,
            alert_prior_s=prior_s,
        )
        alerts = replay_alerts(settings, LabelScorer(tweets), tweets, shift=False)
        result = compare(episodes, map(Interval.of, alerts))
        print(
            f"{ratio:5.1f}  {p_value:7g}  {prior_s:7d}  {result.candidate:6d}  "
            f"{result.caught:6d}  {result.added:5d}  {result.recall:6.2f}  "
            f"{result.precision:9.2f}"
        )


if __name__ == "__main__":
    main()
