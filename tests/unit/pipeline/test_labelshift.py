"""EM prior re-estimation: recovers the live prior, stays put on little data, bounded."""

import numpy as np
import pytest
from prometheus_client import REGISTRY

from stream.agents.scoring import export_label_prior
from stream.pipeline.labelshift import (
    LabelShift,
    RollingPrior,
    em_prior,
    reweight,
    with_known_labels,
)

UNIFORM = np.array([0.5, 0.5])


def calibrated_scores(rng: np.random.Generator, n: int, p_negative: float) -> np.ndarray:
    """Posteriors calibrated under a 50/50 prior: x ~ N(-1, 1) for negatives, N(1, 1) for
    positives, so P(positive | x) = sigmoid(2x) when both classes are equally likely."""
    negative = rng.random(n) < p_negative
    x = rng.normal(np.where(negative, -1.0, 1.0), 1.0)
    p_positive = 1 / (1 + np.exp(-2 * x))
    return np.column_stack([1 - p_positive, p_positive])


@pytest.mark.parametrize("p_negative", [0.2, 0.5, 0.67, 0.9])
def test_em_recovers_a_known_prior_from_unlabelled_calibrated_scores(p_negative: float) -> None:
    scores = calibrated_scores(np.random.default_rng(1), 20_000, p_negative)
    naive = scores[:, 0].mean()  # averaging posteriors is biased towards the training prior
    estimate = em_prior(scores, UNIFORM, pseudo_count=0.0)
    assert estimate[0] == pytest.approx(p_negative, abs=0.015)
    assert estimate.sum() == pytest.approx(1.0)
    if p_negative != 0.5:
        assert abs(estimate[0] - p_negative) < abs(naive - p_negative)


def test_corrected_posteriors_label_better_than_the_training_threshold() -> None:
    rng = np.random.default_rng(2)
    negative = rng.random(10_000) < 0.8
    x = rng.normal(np.where(negative, -1.0, 1.0), 1.0)
    p_positive = 1 / (1 + np.exp(-2 * x))
    scores = np.column_stack([1 - p_positive, p_positive])
    corrected = reweight(scores, UNIFORM, em_prior(scores, UNIFORM, pseudo_count=0.0))
    accuracy_before = ((scores[:, 0] >= 0.5) == negative).mean()
    accuracy_after = ((corrected[:, 0] >= 0.5) == negative).mean()
    assert accuracy_after > accuracy_before + 0.02


def test_a_few_scores_barely_move_the_prior_and_none_leave_it_alone() -> None:
    three_negatives = np.array([[0.95, 0.05]] * 3)
    assert em_prior(three_negatives, UNIFORM, pseudo_count=100.0)[0] < 0.53
    assert em_prior(np.empty((0, 2)), UNIFORM, pseudo_count=100.0) == pytest.approx(UNIFORM)
    # without the anchor, three confident scores would claim an all-negative world
    assert em_prior(three_negatives, UNIFORM, pseudo_count=0.0)[0] > 0.99


def test_known_labels_pull_the_prior_by_their_share_of_the_evidence_up_to_the_cap() -> None:
    scores_say = np.array([0.7, 0.3])
    # 100 labels beside 900 scores and pseudo-counts: a tenth of the evidence
    pulled = with_known_labels(scores_say, np.array([0, 100]), evidence=900, max_share=0.5)
    assert pulled == pytest.approx([0.63, 0.37])
    # 100,000 labels weigh no more than the cap
    capped = with_known_labels(scores_say, np.array([0, 100_000]), evidence=900, max_share=0.1)
    assert capped == pytest.approx([0.63, 0.37])
    assert with_known_labels(scores_say, np.zeros(2), evidence=0, max_share=0.1) is scores_say
    assert with_known_labels(scores_say, np.array([5, 5]), 10, max_share=0.0) == pytest.approx(
        scores_say
    )


def test_the_rolling_window_forgets_old_traffic_and_keeps_fixed_memory() -> None:
    rng = np.random.default_rng(3)
    rolling = RollingPrior(UNIFORM, window=2000, pseudo_count=10.0)
    rolling.add_scores(calibrated_scores(rng, 5000, 0.2))
    rolling.refresh()
    assert rolling.prior[0] == pytest.approx(0.2, abs=0.04)
    for _ in range(10):
        rolling.add_scores(calibrated_scores(rng, 300, 0.8))
        rolling.refresh()
    assert rolling.prior[0] == pytest.approx(0.8, abs=0.04)
    assert rolling.samples == 2000
    rolling.add_labels([0] * 5000)
    assert rolling.samples == 2000  # labels are not scores: they never make a scope "busy"


def test_a_busy_brand_gets_its_own_prior_and_a_quiet_one_the_global_one() -> None:
    rng = np.random.default_rng(4)
    shift = LabelShift(
        ("negative", "positive"),
        UNIFORM,
        window=5000,
        scope_window=1000,
        min_scope_samples=300,
        max_scopes=3,
        pseudo_count=10.0,
    )
    busy = calibrated_scores(rng, 1000, 0.9)
    other = calibrated_scores(rng, 3000, 0.3)
    quiet = calibrated_scores(rng, 20, 0.9)
    scores = np.vstack([busy, other, quiet])
    scopes = ["busy"] * 1000 + ["other"] * 3000 + ["quiet"] * 20
    shift.observe(scopes, scores)
    assert shift.prior_for("busy")[0] == pytest.approx(0.9, abs=0.04)
    assert shift.prior_for("quiet") is shift.overall.prior
    assert shift.overall.prior[0] == pytest.approx((900 + 900 + 18) / 4020, abs=0.04)
    assert shift.scopes_with_own_prior == 2
    scopes = ["busy", "other"]
    corrected = shift.correct(scopes, np.array([[0.5, 0.5], [0.5, 0.5]]), shift.priors_for(scopes))
    assert corrected[0, 0] > 0.85 and corrected[1, 0] < 0.4
    # feedback does not give a quiet brand its own prior; unknown class names are ignored
    shift.observe_labels([("quiet", "positive")] * 400 + [("quiet", "neutral")])
    assert shift.prior_for("quiet") is shift.overall.prior
    # at most max_scopes brands are tracked: the least recently seen one goes
    shift.observe(["new"], calibrated_scores(rng, 1, 0.5))
    assert shift.prior_for("busy") is shift.overall.prior


def test_the_estimate_is_refreshed_once_a_twentieth_of_its_window_is_new() -> None:
    rolling = RollingPrior(UNIFORM, window=2000, pseudo_count=10.0)
    negatives = np.array([[0.95, 0.05]])
    for _ in range(99):
        rolling.add_scores(negatives)
        rolling.refresh_if_due()
    assert rolling.prior == pytest.approx(UNIFORM)
    rolling.add_scores(negatives)
    rolling.refresh_if_due()
    assert rolling.prior[0] > 0.8


def test_the_prior_metrics_read_the_live_estimate_when_scraped() -> None:
    shift = LabelShift(
        ("negative", "positive"),
        UNIFORM,
        window=200,
        scope_window=100,
        min_scope_samples=50,
        max_scopes=3,
        pseudo_count=10.0,
    )
    export_label_prior(lambda: shift)

    def scraped(name: str) -> float | None:
        return REGISTRY.get_sample_value("badbuzz_label_prior", {"class": name})

    assert scraped("negative") == pytest.approx(0.5)
    shift.observe(["air"] * 200, calibrated_scores(np.random.default_rng(6), 200, 0.9))
    assert scraped("negative") == pytest.approx(shift.overall.prior[0])
    assert scraped("negative") > 0.8
    assert REGISTRY.get_sample_value("badbuzz_label_prior_scopes") == 1


def shift_with_bound(max_feedback_share: float) -> LabelShift:
    return LabelShift(
        ("negative", "positive"),
        UNIFORM,
        window=5000,
        scope_window=1000,
        min_scope_samples=300,
        max_scopes=3,
        pseudo_count=100.0,
        max_feedback_share=max_feedback_share,
    )


@pytest.mark.parametrize(
    "traffic",
    [
        pytest.param(lambda rng: calibrated_scores(rng, 1000, 0.8), id="complaints"),
        # scores that say nothing: in the EM, labels beside them would decide the prior alone
        pytest.param(lambda rng: np.full((1000, 2), 0.5), id="uninformative"),
    ],
)
def test_ten_thousand_forged_reports_move_a_brands_prior_by_at_most_the_bound(traffic) -> None:
    bound = 0.1
    shift = shift_with_bound(bound)
    rng = np.random.default_rng(6)
    scopes = ["air"] * 1000 + ["other"] * 1000
    shift.observe(scopes, np.vstack([traffic(rng), calibrated_scores(rng, 1000, 0.5)]))
    before = {scope: shift.prior_for(scope).copy() for scope in ("air", "quiet", "made-up")}
    for _ in range(100):  # a hundred batches of a hundred forged reports each
        shift.observe_labels([("air", "positive")] * 100 + [("made-up", "positive")])
    for scope, prior in before.items():
        moved = np.abs(shift.prior_for(scope) - prior).max()
        assert moved <= bound + 1e-12, scope
    assert np.abs(shift.prior_for("air") - before["air"]).max() > bound / 2  # it did pull
    assert shift.prior_for("made-up") is shift.overall.prior
    assert shift.scopes_with_own_prior == 2


def test_with_no_share_feedback_leaves_the_prior_alone() -> None:
    shift = shift_with_bound(0.0)
    shift.observe(["air"] * 400, calibrated_scores(np.random.default_rng(7), 400, 0.7))
    before = shift.prior_for("air").copy()
    shift.observe_labels([("air", "positive")] * 1000)
    assert shift.prior_for("air") == pytest.approx(before)
