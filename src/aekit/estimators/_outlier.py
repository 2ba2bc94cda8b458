"""PyOD's detector contract, written once over a detector's scores: a subclass
provides ``decision_function`` (higher = more anomalous) and sets
``decision_scores_``, ``threshold_`` and ``labels_`` in ``fit``; this base
class gives ``predict`` (1 = anomaly, 0 = normal), ``fit_predict``,
``predict_proba``, ``predict_confidence``, ``predict_with_rejection`` and
``compute_rejection_stats`` with the signatures, defaults and results of PyOD's
``BaseDetector`` (pyod.models.base), so code written against a PyOD detector,
and PyOD's ensembles that take a list of detectors, run unchanged.

Confidence (ExCeed: Perini, Vercruyssen & Davis, "Quantifying the confidence of
anomaly detectors in their example-wise predictions", ECML-PKDD 2020). With
``n`` training scores and contamination ``g``, a test score ``s`` above ``k``
of them has the Bayesian (uniform prior) probability ``p = (1 + k) / (2 + n)``
of lying above a random training score. Had the training set been drawn again,
the sample is flagged when more than ``n - floor(n g)`` of ``n`` new scores lie
below it, so the probability of an *anomaly* prediction is::

    P_anomaly(s) = P(Binomial(n, p) > n - floor(n g))

``predict_confidence`` is that probability for samples predicted anomalous and
its complement for samples predicted normal.

Rejection (Perini & Davis, "Unsupervised anomaly detection with rejection",
2023). A prediction is rejected (label -2) when its confidence is not extreme:
``2 |P_anomaly - 1/2| <= 1 - 2 exp(-T)``, i.e. ``exp(-T) <= P_anomaly <= 1 -
exp(-T)``. Writing ``F(k; n, q)`` for the binomial CDF, ``m = floor(n g) - 1``
and ``q1 < q2`` for the solutions of ``F(m; n, q1) = 1 - exp(-T)`` and
``F(m; n, q2) = exp(-T)``, the expected rejection rate is ``q2 - q1``, and the
expected cost is at most ``min(g, q1) c_fp + min(1 - q2, g) c_fn + (q2 - q1)
c_r``; the rejection rate's upper bound (holding with probability ``1 -
delta``) is the paper's, as PyOD computes it (see `rejection_rate_bound`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import betainccinv, betaincinv, erf
from scipy.stats import binom
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_is_fitted

from aekit import _validation as v

PROBA_METHODS = ("linear", "unify")
TINY = np.finfo(np.float64).tiny


class BaseDetector(OutlierMixin, BaseEstimator):
    """Base class of aekit's anomaly detectors (see the module docstring).

    A subclass implements ``fit`` (setting ``decision_scores_``, ``threshold_``
    and ``labels_``), ``decision_function`` and has a ``contamination``
    parameter (a fraction or ``"auto"``); the rest of PyOD's API comes from here.
    """

    decision_scores_: np.ndarray
    threshold_: float
    labels_: np.ndarray
    contamination: Any

    def decision_function(self, X: Any) -> np.ndarray:
        raise NotImplementedError

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit on ``X`` and return its 0/1 labels (``labels_``)."""
        return self.fit(X).labels_

    def predict(self, X: Any, return_confidence: bool = False) -> Any:
        """1 for anomalies (score above ``threshold_``), 0 for normal samples.

        With ``return_confidence=True`` returns ``(labels, confidence)``, the
        confidence as in `predict_confidence`.
        """
        v.check_bool("return_confidence", return_confidence)
        scores = self.decision_function(X)
        labels = (scores > self.threshold_).astype(np.int64)
        if return_confidence:
            return labels, self._confidence(scores, labels)
        return labels

    def predict_proba(
        self, X: Any, method: str = "linear", return_confidence: bool = False
    ) -> Any:
        """Probability of [normal, anomaly] per sample, shape (n_samples, 2).

        ``method="linear"`` min-max scales the scores by the training scores'
        range (clipped to [0, 1]); ``"unify"`` is the Gaussian scaling of Kriegel
        et al. (SDM 2011), ``erf((s - mean) / (std * sqrt(2)))`` clipped at 0 —
        both as in PyOD. With ``return_confidence=True`` returns
        ``(probabilities, confidence)`` (see `predict_confidence`).
        """
        v.check_choice("method", method, PROBA_METHODS)
        v.check_bool("return_confidence", return_confidence)
        scores = self.decision_function(X)
        train = self.decision_scores_
        if method == "linear":
            span = max(train.max() - train.min(), TINY)
            anomaly = (scores - train.min()) / span
        else:
            std = max(train.std(), TINY)
            anomaly = erf((scores - train.mean()) / (std * np.sqrt(2.0)))
        anomaly = np.clip(anomaly, 0.0, 1.0)
        proba = np.column_stack([1.0 - anomaly, anomaly])
        if return_confidence:
            labels = (scores > self.threshold_).astype(np.int64)
            return proba, self._confidence(scores, labels)
        return proba

    def predict_confidence(self, X: Any) -> np.ndarray:
        """How surely each sample's `predict` label would stay the same had the
        training set been drawn again (ExCeed, see the module docstring): a
        probability in [0, 1] per sample, shape (n_samples,).

        Examples
        --------
        >>> import numpy as np, aekit
        >>> X = np.random.default_rng(0).normal(size=(200, 4))
        >>> det = aekit.AnomalyDetector(random_state=0).fit(X)
        >>> confidence = det.predict_confidence(X)
        >>> confidence.shape, bool(((0 <= confidence) & (confidence <= 1)).all())
        ((200,), True)
        """
        scores = self.decision_function(X)
        return self._confidence(scores, (scores > self.threshold_).astype(np.int64))

    def predict_with_rejection(
        self,
        X: Any,
        T: float = 32,
        return_stats: bool = False,
        delta: float = 0.1,
        c_fp: float = 1,
        c_fn: float = 1,
        c_r: float = -1,
    ) -> Any:
        """Labels 1 (anomaly), 0 (normal) or -2 (rejected: the prediction is not
        confident enough, ``2 |P_anomaly - 1/2| <= 1 - 2 exp(-T)``; see the module
        docstring), shape (n_samples,).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        T : float > 0, default=32
            Sets the rejection threshold ``1 - 2 exp(-T)``; higher rejects more.
        return_stats : bool, default=False
            Also return ``[expected rejection rate, its upper bound, the cost's
            upper bound]`` (`compute_rejection_stats`), as PyOD does.
        delta : float in (0, 1), default=0.1
            The rejection rate's upper bound holds with probability ``1 - delta``.
        c_fp, c_fn : float >= 0, default=1
            Costs of a false positive and of a false negative.
        c_r : float, default=-1
            Cost of a rejection; a negative value (the default) means the
            contamination rate, as in PyOD.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        stats : list of 3 floats (only with ``return_stats=True``)
        """
        self._check_rejection_args(T, delta, c_fp, c_fn, c_r)
        v.check_bool("return_stats", return_stats)
        scores = self.decision_function(X)
        labels = (scores > self.threshold_).astype(np.int64)
        p_anomaly = self._anomaly_confidence(scores)
        labels[2.0 * np.abs(p_anomaly - 0.5) <= 1.0 - 2.0 * np.exp(-T)] = -2
        if return_stats:
            stats = self.compute_rejection_stats(T, delta, c_fp, c_fn, c_r)
            return labels, list(stats)
        return labels

    def compute_rejection_stats(
        self,
        T: float = 32,
        delta: float = 0.1,
        c_fp: float = 1,
        c_fn: float = 1,
        c_r: float = -1,
        verbose: bool = False,
    ) -> tuple[float, float, float]:
        """The expected rejection rate of `predict_with_rejection`, an upper bound
        on it that holds with probability ``1 - delta``, and an upper bound on the
        expected cost per sample (see the module docstring; the parameters are
        `predict_with_rejection`'s). ``verbose=True`` prints the three.

        Examples
        --------
        >>> import numpy as np, aekit
        >>> X = np.random.default_rng(0).normal(size=(200, 4))
        >>> det = aekit.AnomalyDetector(random_state=0).fit(X)
        >>> rate, bound, cost = det.compute_rejection_stats(T=4)
        >>> bool(0 < rate < bound)
        True
        """
        self._check_rejection_args(T, delta, c_fp, c_fn, c_r)
        v.check_bool("verbose", verbose)
        check_is_fitted(self)
        n, rate = len(self.decision_scores_), self._contamination_rate()
        c_r = rate if c_r < 0 else c_r
        m = int(n * rate) - 1  # int() as PyOD, so the two agree exactly
        if m < 0:
            raise ValueError(
                f"rejection needs at least one expected anomaly among the {n} "
                f"training scores; contamination {rate:g} gives {n * rate:g}. "
                "Fit on more samples or raise contamination."
            )
        q1, q2 = rejection_quantiles(n, m, T)
        expected = float(q2 - q1)
        bound = rejection_rate_bound(n, rate, T, delta)
        cost = float(min(rate, q1) * c_fp + min(1.0 - q2, rate) * c_fn + expected * c_r)
        if verbose:
            print(f"Expected rejection rate: {expected:.4f}")
            print(f"Upper bound rejection rate: {bound:.4f}")
            print(f"Upper bound cost: {cost:.4f}")
        return expected, bound, cost

    def _contamination_rate(self) -> float:
        """The contamination as a fraction: the parameter when it is a number,
        else (``"auto"``) the fraction of training samples labelled anomalous,
        as PyOD does for a thresholding object."""
        if isinstance(self.contamination, str):
            return float(np.mean(self.labels_))
        return float(self.contamination)

    def _anomaly_confidence(self, scores: np.ndarray) -> np.ndarray:
        """ExCeed's probability that a score is predicted anomalous under a
        resampled training set (see the module docstring)."""
        check_is_fitted(self)
        n = len(self.decision_scores_)
        below = np.searchsorted(np.sort(self.decision_scores_), scores, side="right")
        p = (1.0 + below) / (2.0 + n)
        return binom.sf(n - int(n * self._contamination_rate()), n, p)

    def _confidence(self, scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
        p_anomaly = self._anomaly_confidence(scores)
        return np.where(labels == 1, p_anomaly, 1.0 - p_anomaly)

    @staticmethod
    def _check_rejection_args(
        T: float, delta: float, c_fp: float, c_fn: float, c_r: float
    ) -> None:
        v.check_float("T", T, low_open=True)
        v.check_float("delta", delta, low_open=True, high=1.0)
        v.check_float("c_fp", c_fp)
        v.check_float("c_fn", c_fn)
        v.check_float("c_r", c_r, low=-np.inf)


def rejection_quantiles(n: int, m: int, T: float) -> tuple[float, float]:
    """``q1 < q2`` with ``F(m; n, q1) = 1 - exp(-T)`` and ``F(m; n, q2) =
    exp(-T)``, F the binomial CDF, in closed form: ``F(m; n, q) = I_{1-q}(n - m,
    m + 1)`` (the regularised incomplete beta function), inverted on the side
    where the target is small so that ``exp(-32)`` keeps its precision (PyOD's
    root search on ``F - (1 - exp(-T))`` is off by about 1e-6 at T=32)."""
    tail = float(np.exp(-T))
    q1 = 1.0 - float(betainccinv(n - m, m + 1, tail))
    q2 = 1.0 - float(betaincinv(n - m, m + 1, tail))
    return q1, q2


def rejection_rate_bound(n: int, rate: float, T: float, delta: float) -> float:
    """Upper bound on the rejection rate with ``n`` training scores and
    contamination ``rate`` (Perini & Davis, 2023), holding with probability
    ``1 - delta``: ``right - left + sqrt(2 log(2 / delta) / n)`` with::

        right = min(1, (n + 1 - rate (n + 2)) / n + (n + 2) sqrt(T / (2 n^3)))
        left = max(0, (2 + n (1 - rate) (n + 1)) / n^2 - sqrt(R / (2 n^3)))
        R = 2 n (4 rate - 3 rate^2 - 3 - 2 n (1 - rate)^2) + T (n + 2)^2 - 8

    (``left`` is 0 when ``R < 0``.) The same bound as PyOD's, in a shorter form.
    """
    g = rate
    right = min(1.0, (n + 1 - g * (n + 2)) / n + (n + 2) * np.sqrt(T / (2 * n**3)))
    radicand = 2 * n * (4 * g - 3 * g**2 - 3 - 2 * n * (1 - g) ** 2)
    radicand += T * (n + 2) ** 2 - 8
    left = 0.0
    if radicand >= 0:
        left = max(
            0.0, (2 + n * (1 - g) * (n + 1)) / n**2 - np.sqrt(radicand / (2 * n**3))
        )
    return float(right - left + np.sqrt(2.0 * np.log(2.0 / delta) / n))
