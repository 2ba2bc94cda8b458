"""PyOD's BaseDetector API beyond the core: confidence, rejection, ensembles.

The numbers are checked against PyOD itself on identical training and test
scores: a PyOD detector and an aekit one that score a sample by the same fixed
function (and a PyOD mirror of a fitted `AnomalyDetector`).
"""

import numpy as np
import pytest
from scipy.stats import binom
from sklearn.base import clone

import aekit
from aekit.estimators._outlier import BaseDetector, rejection_quantiles
from tests.conftest import FAST, small_tabular

pyod_base = pytest.importorskip("pyod.models.base")


def fixed_score(X):
    """A fixed score, rounded so that training scores tie."""
    return np.round(np.asarray(X, np.float64) @ np.array([1.0, -0.5, 0.25]), 1)


class AekitFixed(BaseDetector):
    def __init__(self, contamination=0.1):
        self.contamination = contamination

    def fit(self, X, y=None):
        self.decision_scores_ = fixed_score(X)
        self.threshold_ = float(
            np.percentile(self.decision_scores_, 100 * (1 - self.contamination))
        )
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(np.int64)
        return self

    def decision_function(self, X):
        return fixed_score(X)


class PyodMirror(pyod_base.BaseDetector):
    """A PyOD detector scoring by ``score`` (fixed_score unless given)."""

    def __init__(self, contamination=0.1, score=fixed_score):
        super().__init__(contamination=contamination)
        self.score = score

    def fit(self, X, y=None):
        self._set_n_classes(y)
        self.decision_scores_ = self.score(X)
        self._process_decision_scores()
        return self

    def decision_function(self, X):
        return self.score(X)


def pair(n=300, contamination=0.1, seed=0):
    rng = np.random.default_rng(seed)
    X_train, X_test = rng.normal(size=(n, 3)), 1.5 * rng.normal(size=(200, 3))
    ours = AekitFixed(contamination).fit(X_train)
    theirs = PyodMirror(contamination).fit(X_train)
    assert ours.threshold_ == theirs.threshold_
    return ours, theirs, X_test


@pytest.mark.parametrize("n, contamination", [(300, 0.1), (57, 0.05), (1000, 0.3)])
def test_confidence_and_probabilities_equal_pyods(n, contamination):
    ours, theirs, X = pair(n, contamination)
    np.testing.assert_allclose(
        ours.predict_confidence(X), theirs.predict_confidence(X), rtol=0, atol=1e-12
    )
    labels, confidence = ours.predict(X, return_confidence=True)
    their_labels, their_confidence = theirs.predict(X, return_confidence=True)
    np.testing.assert_array_equal(labels, their_labels)
    np.testing.assert_allclose(confidence, their_confidence, rtol=0, atol=1e-12)
    for method in ("linear", "unify"):
        proba, conf = ours.predict_proba(X, method=method, return_confidence=True)
        their_proba, their_conf = theirs.predict_proba(
            X, method=method, return_confidence=True
        )
        np.testing.assert_allclose(proba, their_proba, rtol=0, atol=1e-12)
        np.testing.assert_allclose(conf, their_conf, rtol=0, atol=1e-12)


@pytest.mark.parametrize("T", [32, 8, 2, 0.8])
@pytest.mark.parametrize("n, contamination", [(300, 0.1), (57, 0.05), (1000, 0.3)])
def test_rejection_equals_pyods(T, n, contamination):
    ours, theirs, X = pair(n, contamination)
    costs = dict(delta=0.05, c_fp=2.0, c_fn=3.0, c_r=0.5)
    labels, stats = ours.predict_with_rejection(X, T=T, return_stats=True, **costs)
    their_labels, their_stats = theirs.predict_with_rejection(
        X, T=T, return_stats=True, **costs
    )
    np.testing.assert_array_equal(labels, their_labels)
    assert set(np.unique(labels)) <= {-2, 0, 1}
    # PyOD finds q1 by a root search on F - (1 - exp(-T)), which loses the tail's
    # precision at T=32 (about 1e-6); ours inverts the incomplete beta function.
    atol = 1e-5 if T > 20 else 1e-10
    np.testing.assert_allclose(stats, their_stats, rtol=0, atol=atol)
    with pytest.warns(UserWarning):  # PyOD warns about its own default c_r=-1
        their_defaults = theirs.predict_with_rejection(X, T=T, return_stats=True)[1]
    ours_defaults = ours.compute_rejection_stats(T=T)
    np.testing.assert_allclose(ours_defaults, their_defaults, rtol=0, atol=atol)


@pytest.mark.parametrize("n, m, T", [(300, 29, 32), (57, 1, 32), (1000, 299, 8)])
def test_rejection_quantiles_solve_their_equations(n, m, T):
    q1, q2 = rejection_quantiles(n, m, T)
    tail = np.exp(-T)
    assert 0 < q1 < q2 < 1
    np.testing.assert_allclose(binom.sf(m, n, q1), tail, rtol=1e-7)
    np.testing.assert_allclose(binom.cdf(m, n, q2), tail, rtol=1e-7)
