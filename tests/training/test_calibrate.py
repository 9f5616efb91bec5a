"""Calibration: the fit recovers a known miscalibration, and ECE measures it."""

import numpy as np
import pytest

from model.calibration import Calibration, softmax
from training.calibrate import expected_calibration_error, fit_calibration


def _miscalibrated(
    temperature: float, bias: tuple[float, ...], rows: int = 20_000
) -> tuple[np.ndarray, np.ndarray]:
    """Model probabilities `softmax(z)` whose true class probabilities are
    `softmax(z / temperature + bias)`, and labels drawn from the true ones."""
    rng = np.random.default_rng(7)
    logits = rng.normal(0.0, 2.0, size=(rows, len(bias)))
    truth = softmax(logits / temperature + np.asarray(bias))
    labels = np.array([rng.choice(len(bias), p=row) for row in truth])
    return softmax(logits), labels


@pytest.mark.parametrize("bias", [(0.0, -0.7), (0.0, 0.5, -0.4)])
def test_fit_recovers_temperature_and_bias_and_lowers_ece(bias: tuple[float, ...]) -> None:
    probabilities, labels = _miscalibrated(2.0, bias)
    # class-balanced fit: the biases it finds are relative to a uniform prior
    prior = np.bincount(labels) / len(labels)
    fitted = fit_calibration(probabilities, labels)
    assert fitted.temperature == pytest.approx(2.0, rel=0.1)
    expected_bias = np.asarray(bias) - np.log(prior) + np.log(prior[0]) - bias[0]
    np.testing.assert_allclose(fitted.bias, expected_bias, atol=0.15)
    before = expected_calibration_error(probabilities, labels)
    after = expected_calibration_error(Calibration(fitted.temperature).apply(probabilities), labels)
    assert before > 0.05 > after


def test_ece_is_the_confidence_accuracy_gap() -> None:
    confident = np.array([[0.1, 0.9]] * 10)
    labels = np.array([1] * 9 + [0])  # 90% right at 90% confidence
    assert expected_calibration_error(confident, labels) == pytest.approx(0.0)
    assert expected_calibration_error(confident, np.array([1] * 5 + [0] * 5)) == pytest.approx(0.4)


def test_binary_calibration_is_platt_scaling_of_the_logit() -> None:
    p = np.array([0.1, 0.5, 0.8, 0.99])
    calibrated = Calibration(2.0, (0.0, -0.3)).apply(np.column_stack([1 - p, p]))[:, 1]
    logit = np.log(p / (1 - p))
    np.testing.assert_allclose(calibrated, 1 / (1 + np.exp(-(logit / 2.0 - 0.3))), rtol=1e-9)
    np.testing.assert_allclose(Calibration().apply(np.column_stack([1 - p, p]))[:, 1], p)
