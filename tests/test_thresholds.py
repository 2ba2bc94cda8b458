"""aekit.thresholds and contamination="auto": a sensible label rate at low and
high contamination, and edge cases."""

import numpy as np
import pytest

import aekit
from aekit import thresholds
from tests.test_detector import quick_model

RULES = [
    thresholds.auto_threshold,
    thresholds.shorth_threshold,
    thresholds.mad_threshold,
    thresholds.sigma_threshold,
]


def planted(rate: float, seed: int = 0, n: int = 500, d: int = 8):
    """Rank-2 inliers in d dimensions and a share ``rate`` of rows off their plane."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(2, d))
    n_out = round(rate * n)
    X = rng.normal(size=(n, 2)) @ basis + 0.1 * rng.normal(size=(n, d))
    X[:n_out] += 2.0 * rng.normal(size=(n_out, d))
    return X, np.r_[np.ones(n_out), np.zeros(n - n_out)].astype(bool)


@pytest.mark.parametrize("rate", [0.02, 0.3])
@pytest.mark.parametrize("latent_distance", [True, False])
def test_auto_flags_planted_anomalies(rate, latent_distance):
    X, y = planted(rate)
    det = aekit.AnomalyDetector(
        quick_model(), contamination="auto", latent_distance=latent_distance
    ).fit(X)
    flagged = det.labels_.astype(bool)
    assert rate / 2 <= flagged.mean() <= 2 * rate
    assert flagged[y].mean() >= 0.7  # most planted anomalies
    assert y[flagged].mean() >= 0.5  # and mostly them


@pytest.mark.parametrize("rate", [0.01, 0.02, 0.3, 0.4])
def test_auto_threshold_on_far_anomalies(rate):
    rng = np.random.default_rng(0)
    n_out = round(rate * 2000)
    scores = np.r_[rng.normal(8.0, 1.0, n_out), rng.normal(size=2000 - n_out)]
    flagged = scores > thresholds.auto_threshold(scores)
    assert flagged[:n_out].mean() >= 0.8
    assert 0.8 * rate <= flagged.mean() <= 1.5 * rate + 0.01


def test_auto_threshold_follows_a_moderate_tail():
    # 5% of the rows 2.5 standard deviations up, a shoulder: the robust rules
    # flag almost none, the two-sigma rule some, and auto takes the lower cut
    rng = np.random.default_rng(0)
    scores = np.r_[rng.normal(2.5, 1.0, 50), rng.normal(size=950)]
    auto = thresholds.auto_threshold(scores)
    assert auto == thresholds.sigma_threshold(scores)
    assert auto < thresholds.shorth_threshold(scores)
    assert np.mean(scores > thresholds.mad_threshold(scores)) < 0.02
    assert 0.02 <= np.mean(scores > auto) <= 0.1
    assert np.mean(scores[:50] > auto) > 0.3


@pytest.mark.parametrize("rule", RULES)
def test_equal_scores_flag_nothing(rule):
    scores = np.full(10, 3.0)
    assert rule(scores) == 3.0
    assert not (scores > rule(scores)).any()


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("scores", [[1.0], [1.0, 2.0], [0.0, 0.0, 5.0]])
def test_tiny_inputs(rule, scores):
    cut = rule(np.array(scores))
    assert np.isfinite(cut) and cut >= np.median(scores)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("bad", [[], [1.0, np.nan], [np.inf, 1.0]])
def test_bad_scores_raise(rule, bad):
    with pytest.raises(ValueError, match="scores must be"):
        rule(np.array(bad))


def test_known_values():
    scores = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    assert thresholds.mad_threshold(scores) == pytest.approx(3 + 3.5 * 1.4826)
    assert thresholds.sigma_threshold(scores, k=1) == pytest.approx(
        scores.mean() + scores.std()
    )
    # shortest half: [1, 3], centre 2, width 2
    assert thresholds.shorth_threshold(scores) == pytest.approx(2 + 3.5 * 0.7413 * 2)
    # no second group: two sigmas (the far row inflates them: it is not flagged)
    assert thresholds.auto_threshold(scores) == thresholds.sigma_threshold(scores)


@pytest.mark.parametrize("rate", [0.2, 0.35, 0.45])
def test_auto_threshold_splits_a_separate_group(rate):
    # a third of the rows 4 standard deviations up: the robust and two-sigma
    # cuts flag few of them, the mixture (Ashman's D = 4) splits the two groups
    rng = np.random.default_rng(0)
    n_out = round(rate * 1000)
    scores = np.r_[rng.normal(4.0, 1.0, n_out), rng.normal(size=1000 - n_out)]
    cut = thresholds.auto_threshold(scores)
    assert cut == thresholds.mixture_threshold(scores)
    flagged = scores > cut
    assert 0.8 * rate <= flagged.mean() <= 1.2 * rate
    assert flagged[:n_out].mean() >= 0.9
    if rate >= 0.35:
        old = min(
            thresholds.shorth_threshold(scores), thresholds.sigma_threshold(scores)
        )
        assert np.mean(scores > old) < 0.6 * rate


def test_mixture_threshold_declines_one_group():
    rng = np.random.default_rng(0)
    one = rng.normal(size=1000)
    skewed = rng.gamma(2.0, size=1000)  # a long right tail, no second group
    majority = np.r_[rng.normal(size=300), rng.normal(6.0, 1.0, size=700)]
    close = np.r_[rng.normal(size=700), rng.normal(2.0, 1.0, size=300)]  # D = 2
    for scores in (one, skewed, majority, close, one[:19]):
        assert thresholds.mixture_threshold(scores) is None
    assert thresholds.auto_threshold(one) == thresholds.sigma_threshold(one)
