"""Drift figures on hand-made score streams, and the model's out-of-vocabulary rate."""

import math

import pytest

from model import SentimentModel
from stream.observability.drift import DriftMonitor, psi

UNIFORM = [0.1] * 10


def test_psi_is_zero_for_the_reference_itself_and_grows_with_the_shift() -> None:
    assert psi(UNIFORM, UNIFORM) == 0.0
    slight = [0.12, 0.08] * 5
    heavy = [0.5, 0.5] + [0.0] * 8
    assert 0 < psi(UNIFORM, slight) < 0.05 < 0.2 < psi(UNIFORM, heavy)
    assert psi(UNIFORM, slight) == pytest.approx(
        5 * (0.02 * math.log(1.2) + (-0.02) * math.log(0.8))
    )


def test_monitor_keeps_only_the_recent_window() -> None:
    monitor = DriftMonitor(UNIFORM, window=100)
    assert (monitor.psi, monitor.negative_share) == (0.0, 0.0)
    monitor.observe([0.05] * 100, [True] * 100)  # all negative, all in the first bin
    assert monitor.negative_share == 1.0
    assert monitor.histogram[0] == 1.0
    assert monitor.psi > 1.0
    scores = [i / 100 + 0.005 for i in range(100)]
    monitor.observe(scores, [score < 0.5 for score in scores])  # pushes the old ones out
    assert monitor.histogram == pytest.approx(UNIFORM)
    assert monitor.psi == pytest.approx(0.0)
    assert monitor.negative_share == 0.5


def test_oov_rate_counts_the_pieces_the_vocabulary_cannot_spell() -> None:
    model = SentimentModel.load()  # word pieces: a made-up word is spelled, not unknown
    assert model.oov_rate(["the flight was great", "qzxv blorptastic wugglefrump"]) == 0.0
    assert model.oov_rate(["\u2603 \u2318 \u235f"]) == 1.0
    assert model.oov_rate(["the \ua66e flight"]) == pytest.approx(1 / 3)
    assert model.oov_rate([""]) == 0.0
