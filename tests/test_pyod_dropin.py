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
from aekit.estimators import BaseDetector
from aekit.estimators._outlier import rejection_quantiles
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


@pytest.fixture(scope="module")
def fitted():
    X = small_tabular(120, 6)
    X[:6] += np.random.default_rng(1).normal(scale=10.0, size=(6, 6))
    model = aekit.Autoencoder((8,), 2, **dict(FAST, max_epochs=4))
    return aekit.AnomalyDetector(model, contamination=0.1, trim=0.0).fit(X), X


def test_a_fitted_detector_agrees_with_its_pyod_mirror(fitted):
    det, X = fitted
    X_test = X + 0.3 * np.random.default_rng(2).normal(size=X.shape)
    mirror = PyodMirror(0.1, score=det.decision_function).fit(X)
    np.testing.assert_allclose(mirror.decision_scores_, det.decision_scores_)
    mirror.threshold_ = det.threshold_  # np.quantile vs np.percentile rounding
    mirror.labels_ = det.labels_
    np.testing.assert_array_equal(det.predict(X_test), mirror.predict(X_test))
    np.testing.assert_allclose(
        det.predict_confidence(X_test), mirror.predict_confidence(X_test), atol=1e-12
    )
    np.testing.assert_array_equal(
        det.predict_with_rejection(X_test, T=2),
        mirror.predict_with_rejection(X_test, T=2),
    )


def test_shapes_and_ranges(fitted):
    det, X = fitted
    labels, confidence = det.predict(X, return_confidence=True)
    assert labels.shape == confidence.shape == (len(X),)
    assert ((confidence >= 0) & (confidence <= 1)).all()
    # confident about the planted rows, less so near the threshold
    assert confidence[labels == 1].max() > 0.5
    proba, conf = det.predict_proba(X, method="unify", return_confidence=True)
    assert proba.shape == (len(X), 2) and conf.shape == (len(X),)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    rejected = det.predict_with_rejection(X, T=2)
    assert set(np.unique(rejected)) <= {-2, 0, 1}
    kept = rejected != -2
    np.testing.assert_array_equal(rejected[kept], labels[kept])
    rate, bound, cost = det.compute_rejection_stats(T=2)
    assert 0 <= rate <= bound and cost >= 0
    # a higher T rejects at least as many samples
    assert (det.predict_with_rejection(X, T=8) == -2).sum() >= (~kept).sum()


def test_auto_contamination_uses_the_labelled_fraction(fitted):
    det, X = fitted
    auto = clone(det).set_params(contamination="auto").fit(X)
    rate = auto.labels_.mean()
    assert 0 < rate < 0.5
    mirror = AekitFixed(rate)
    for name in ("decision_scores_", "threshold_", "labels_"):
        setattr(mirror, name, getattr(auto, name))
    mirror.decision_function = auto.decision_function
    np.testing.assert_array_equal(
        auto.predict_confidence(X), mirror.predict_confidence(X)
    )


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda d, X: d.predict(X, return_confidence="yes"), TypeError, "return_conf"),
        (lambda d, X: d.predict_proba(X, method="softmax"), ValueError, "method"),
        (lambda d, X: d.predict_with_rejection(X, T=0), ValueError, r"T must be"),
        (lambda d, X: d.predict_with_rejection(X, T="32"), TypeError, r"T must be"),
        (lambda d, X: d.predict_with_rejection(X, delta=1.0), ValueError, "delta"),
        (lambda d, X: d.predict_with_rejection(X, c_fp=-1), ValueError, "c_fp"),
        (lambda d, X: d.compute_rejection_stats(c_fn=-0.5), ValueError, "c_fn"),
        (lambda d, X: d.compute_rejection_stats(c_r=np.nan), ValueError, "c_r"),
    ],
)
def test_bad_arguments_name_the_parameter(fitted, call, error, match):
    det, X = fitted
    with pytest.raises(error, match=match):
        call(det, X)


def test_rejection_needs_an_expected_anomaly():
    det = AekitFixed(0.05).fit(np.random.default_rng(0).normal(size=(15, 3)))
    with pytest.raises(ValueError, match="at least one expected anomaly"):
        det.compute_rejection_stats()


def test_unfitted_detector_is_refused():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        aekit.AnomalyDetector().compute_rejection_stats()


def test_lscp_runs_with_aekit_detectors():
    from pyod.models.lscp import LSCP

    X = small_tabular(150, 6)
    X[:8] += 4.0
    members = [
        aekit.AnomalyDetector(
            aekit.Autoencoder((8,), latent, **dict(FAST, max_epochs=3)),
            trim=0.0,
            latent_distance=bool(latent % 2),
        )
        for latent in (2, 3)
    ]
    lscp = LSCP(members, local_region_size=30, random_state=0).fit(X)
    scores = lscp.decision_function(X)
    assert scores.shape == (150,) and np.isfinite(scores).all()
    labels = lscp.predict(X)
    assert set(np.unique(labels)) <= {0, 1} and labels.sum() > 0
    assert lscp.predict_confidence(X).shape == (150,)
    # the planted rows rank high
    assert scores[:8].mean() > np.median(scores)


def test_clone_and_params_unchanged():
    det = aekit.AnomalyDetector(contamination=0.05, random_state=3)
    assert clone(det).get_params() == det.get_params()
    assert "return_confidence" not in det.get_params()


def test_suod_runs_with_aekit_detectors():
    pytest.importorskip("suod")  # not in the dev extra: PyOD's optional ensemble
    from pyod.models.suod import SUOD

    X = small_tabular(150, 6)
    X[:8] += 4.0
    members = [
        aekit.AnomalyDetector(
            aekit.Autoencoder((8,), latent, **dict(FAST, max_epochs=3)), trim=0.0
        )
        for latent in (2, 3)
    ]
    suod = SUOD(base_estimators=members, n_jobs=1, verbose=False).fit(X)
    scores = suod.decision_function(X)
    assert scores.shape == (150,) and np.isfinite(scores).all()
    assert set(np.unique(suod.predict(X))) <= {0, 1}
    assert scores[:8].mean() > np.median(scores)
