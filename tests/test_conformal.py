"""Conformal p-values, Benjamini-Hochberg and AnomalyDetector.calibrate."""

import numpy as np
import pytest
from scipy.stats import kstest
from sklearn.exceptions import NotFittedError

import aekit
from aekit.conformal import benjamini_hochberg, conformal_p_values


def test_p_values_by_hand():
    p = conformal_p_values(np.array([3.0, 1.0, 2.0]), np.array([0.0, 2.0, 2.5, 9.0]))
    np.testing.assert_allclose(p, [1.0, 0.75, 0.5, 0.25])  # ties count as >=


def test_p_values_are_uniform_on_exchangeable_rows():
    # the guarantee is marginal (over calibration sets): one new row per set;
    # with 99 calibration rows p is uniform on {1/100, ..., 1}
    rng = np.random.default_rng(0)
    p = np.array(
        [conformal_p_values(rng.normal(size=99), rng.normal(size=1))[0]
         for _ in range(4000)]
    )  # fmt: skip
    assert kstest(p * 100 - rng.random(4000), "uniform", args=(0, 100)).pvalue > 0.01
    assert np.mean(p <= 0.05) <= 0.05 + 0.01


def test_bh_by_hand():
    p = np.array([0.04, 0.001, 0.5, 0.02])
    assert benjamini_hochberg(p, 0.05).tolist() == [False, True, False, True]
    assert benjamini_hochberg(np.array([0.01, 0.02]), 0.05).all()  # step-up
    assert not benjamini_hochberg(np.array([0.2, 0.9]), 0.05).any()


def test_bh_controls_fdr_and_flags_little_without_anomalies():
    rng = np.random.default_rng(1)
    alpha, fdp, any_flag = 0.1, [], []
    for _ in range(300):
        cal = rng.normal(size=500)
        normal, odd = rng.normal(size=180), rng.normal(3.5, 1.0, size=20)
        p = conformal_p_values(cal, np.r_[normal, odd])
        flagged = benjamini_hochberg(p, alpha)
        fdp.append(flagged[:180].sum() / max(flagged.sum(), 1))
        any_flag.append(benjamini_hochberg(p[:180], alpha).any())
    assert np.mean(fdp) <= alpha + 0.02
    # no anomalies at all: BH flags anything in at most about alpha of the runs
    assert np.mean(any_flag) <= alpha + 0.04


@pytest.fixture(scope="module")
def calibrated():
    rng = np.random.default_rng(0)
    model = aekit.Autoencoder(
        (16,), 2, max_epochs=20, batch_size=64, pca_path=False, random_state=0
    )
    det = aekit.AnomalyDetector(model, random_state=0).fit(rng.normal(size=(400, 4)))
    return det.calibrate(rng.normal(size=(600, 4))), rng


def test_detector_false_alarm_rate_and_power(calibrated):
    det, rng = calibrated
    normal = rng.normal(size=(3000, 4))
    assert np.mean(det.predict(normal, alpha=0.05, control="fpr")) <= 0.05 + 0.015
    assert det.predict(normal, alpha=0.05).sum() <= 10  # BH, no anomalies
    far = rng.normal(size=(30, 4)) + 6.0
    flagged = det.predict(np.vstack([normal[:300], far]), alpha=0.05)
    assert flagged[300:].mean() >= 0.9 and flagged[:300].sum() <= 5
    assert det.p_values(far).max() <= 1 / 601 + 1e-12


def test_predict_without_alpha_keeps_the_contract(calibrated):
    det, rng = calibrated
    X = rng.normal(size=(50, 4))
    np.testing.assert_array_equal(
        det.predict(X), (det.decision_function(X) > det.threshold_).astype(int)
    )


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_bad_conformal_calls(calibrated):
    det, rng = calibrated
    X = rng.normal(size=(5, 4))
    with pytest.raises(ValueError, match="alpha"):
        det.predict(X, alpha=1.5)
    with pytest.raises(ValueError, match="control must be one of 'fdr', 'fpr'"):
        det.predict(X, alpha=0.1, control="fwer")
    fresh = aekit.AnomalyDetector(det.model, random_state=0).fit(X.repeat(20, 0))
    with pytest.raises(NotFittedError, match="call calibrate"):
        fresh.predict(X, alpha=0.1)
